"""Every learning page text and rule title has an Indonesian translation."""

from __future__ import annotations

import re
from importlib import resources

from prakerja.kit.errors import DomainError
from prakerja.kit.i18n import translations
from prakerja.learning import rules, views

TEMPLATE_TEXT = re.compile(r'_\("([^"]+)"\)')


def _template_msgids() -> set[str]:
    folder = resources.files("prakerja").joinpath("templates", "learning")
    return {
        m
        for f in folder.iterdir()
        if f.name.endswith(".html")
        for m in TEMPLATE_TEXT.findall(f.read_text())
    }


def test_learning_texts_are_translated_to_indonesian() -> None:
    errors = [
        c.title
        for c in vars(rules).values()
        if isinstance(c, type) and issubclass(c, DomainError) and c.__module__ == rules.__name__
    ]
    flags = [
        "flag_low_rating",
        "flag_low_completion",
        "flag_no_learning_gain",
        "flag_many_complaints",
    ]
    msgids = _template_msgids() | set(errors) | set(views.FACE_REASONS.values()) | set(flags)
    id_ = translations("id")
    missing = sorted(m for m in msgids if id_.gettext(m) == m and m != "Open Badge (JSON)")
    assert len(msgids) > 60
    assert missing == []
