"""Every marketplace text people see has an Indonesian translation."""

import re
from importlib import resources

from prakerja.kit.errors import DomainError
from prakerja.kit.i18n import translations
from prakerja.marketplace import rules, service_purchase

SAME_IN_BOTH = {"Voucher", "webinar", "Pre-test", "Post-test", "Status"}


def _template_ids():
    folder = resources.files("prakerja").joinpath("templates", "marketplace")
    for f in folder.iterdir():
        yield from re.findall(r"""_\(["']([^"']+)["']\)""", f.read_text(encoding="utf-8"))


def _error_titles():
    for module in (rules, service_purchase):
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, DomainError)
                and value.__module__ == module.__name__
            ):
                yield value.title


def test_every_template_text_and_error_title_is_translated():
    id_ = translations("id")
    missing = [
        m
        for m in {*_template_ids(), *_error_titles(), service_purchase.SMS}
        if m not in SAME_IN_BOTH and id_.gettext(m) == m
    ]
    assert missing == []


def test_statuses_and_modes_are_translated():
    id_ = translations("id")
    words = [
        *rules.TRANSITIONS,
        *rules.MODES,
        *rules.COURSE_STATUSES,
        *(
            f"order_{s}"
            for s in (
                "pending",
                "confirmed",
                "cancelled",
                "refunded",
                "completed",
                "expired",
                "awaiting_code",
            )
        ),
    ]
    assert [w for w in words if w != "webinar" and id_.gettext(w) == w] == []
