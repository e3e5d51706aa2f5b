"""Bahasa Indonesia first, English on request. Catalogues are Babel .po files read at start-up.

Source strings (msgids) are English; `translations/id/LC_MESSAGES/messages.po` holds the
Indonesian text shown by default. Reading the .po directly means no compiled artefacts to ship.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


class _PoTranslations(Translations):
    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        # babel types its catalogue with tuple keys too (plural forms); ours are plain msgids
        self._catalog = messages  # type: ignore[assignment]
        self.plural = lambda n: int(n != 1)


def _messages(catalog: Any) -> dict[str, str]:
    """The translated, non-fuzzy messages of a read .po catalogue."""
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


@lru_cache
def translations(language: str) -> Translations:
    """The translations for a language ('id' or 'en'); unknown languages get Indonesian.

    Every `*.po` file under translations/<language>/LC_MESSAGES/ is merged, so each context
    keeps its own catalogue file (e.g. registration.po) and no file is shared by all.
    """
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    folder = resources.files("prakerja").joinpath("translations", language, "LC_MESSAGES")
    merged: dict[str, str] = {}
    for po in sorted(folder.iterdir(), key=lambda p: p.name):
        if po.name.endswith(".po"):
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=language)
            merged.update(_messages(catalog))
    return _PoTranslations(merged)


def gettext(language: str, message: str, **params: Any) -> str:
    """Translate one message and fill its %(name)s placeholders."""
    text = translations(language).gettext(message)
    return text % params if params else text


def pick_language(query: str | None, cookie: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """An explicit choice (query, then cookie) wins; otherwise Indonesian, whatever the browser."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return default
