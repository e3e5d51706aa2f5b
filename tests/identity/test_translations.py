"""Every identity text shown to people has an Indonesian translation."""

import re
from importlib import resources

import pytest

from prakerja.identity import errors
from prakerja.kit import i18n

ROOT = resources.files("prakerja")


def _template_msgids():
    folder = ROOT.joinpath("templates", "identity")
    for page in folder.iterdir():
        if page.name.endswith(".html"):
            yield from re.findall(r'_\("([^"]+)"\)', page.read_text(encoding="utf-8"))


def _python_msgids():
    for name in ("service_account.py", "service_login.py", "service_phone.py", "views.py"):
        text = ROOT.joinpath("identity", name).read_text(encoding="utf-8")
        yield from re.findall(r'gettext\(\s*\w+(?:\.\w+)?,\s*"([^"]+)"', text)
    yield from (getattr(errors, n).title for n in errors.__all__ if n != "CountedRefusal")


@pytest.mark.parametrize("msgid", sorted(set(_template_msgids()) | set(_python_msgids())))
def test_indonesian_translation_exists(msgid):
    assert msgid in i18n.translations("id")._catalog  # present, even where ID == EN ("Status")
