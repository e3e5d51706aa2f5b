"""The Indonesian catalogue is complete, used and consistent across every context.

Every literal msgid in a template (`_("...")`, `tr("...", n=...)`) or in Python (`_("...")`,
`kit.web.translate`, `gettext(lang, "...")`, `translations(...).gettext("...")`)
has a non-empty, non-fuzzy Indonesian msgstr in some translations/id/LC_MESSAGES/*.po; every
catalogue entry is used somewhere (a string in Python or a quoted string in a template: labels,
error titles and macro arguments are msgids too); and a msgid that several catalogues define is
translated the same way in each (the merged catalogue keeps only one of them).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

SRC = Path(__file__).resolve().parents[2] / "src" / "prakerja"
CATALOGUES = SRC / "translations" / "id" / "LC_MESSAGES"
_STRING = r"""(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
TEMPLATE_MSGID = re.compile(r"\b(?:_|tr)\(\s*" + _STRING + r"\s*[),]")
TEMPLATE_QUOTED = re.compile(_STRING)
PY_WRAPPERS = frozenset({"_", "translate"})
# `_("order_" ~ status)`: a dynamic msgid; catalogue entries with this prefix count as used.
TEMPLATE_PREFIX = re.compile(r"\b_\(\s*" + _STRING + r"\s*~")


def _literal(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else match.group(2)


def _python_files() -> Iterator[Path]:
    return (p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def _msgid_argument(call: ast.Call) -> ast.expr | None:
    """The msgid argument of `_(m)`, `_t(m)`, `gettext(lang, m)`, `x.gettext(lang, m)`,
    `x.gettext(m)`."""
    func, args = call.func, call.args
    if isinstance(func, ast.Name) and func.id in PY_WRAPPERS and args:
        return args[0]
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name != "gettext" or not args:
        return None
    if len(args) >= 2:
        return args[1]
    return args[0] if isinstance(func, ast.Attribute) else None


@cache
def used_msgids() -> dict[str, frozenset[str]]:
    """Literal msgid -> the files (relative to src/prakerja) that use it."""
    found: dict[str, set[str]] = {}
    for page in (SRC / "templates").rglob("*.html"):
        for match in TEMPLATE_MSGID.finditer(page.read_text(encoding="utf-8")):
            found.setdefault(_literal(match), set()).add(str(page.relative_to(SRC)))
    for module in _python_files():
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            arg = _msgid_argument(node) if isinstance(node, ast.Call) else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, set()).add(str(module.relative_to(SRC)))
    return {k: frozenset(v) for k, v in found.items()}


@cache
def catalogue() -> dict[str, tuple[tuple[str, str, bool], ...]]:
    """msgid -> (file, msgstr, fuzzy) for every Indonesian catalogue that defines it."""
    entries: dict[str, list[tuple[str, str, bool]]] = {}
    for po in sorted(CATALOGUES.glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale="id"):
                if message.id:
                    entry = (po.name, str(message.string or ""), bool(message.fuzzy))
                    entries.setdefault(str(message.id), []).append(entry)
    return {k: tuple(v) for k, v in entries.items()}


@cache
def strings_in_source() -> frozenset[str]:
    """Every string constant in Python (labels, error titles) and every quoted template string."""
    found = {
        node.value
        for module in _python_files()
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    for page in (SRC / "templates").rglob("*.html"):
        found.update(_literal(m) for m in TEMPLATE_QUOTED.finditer(page.read_text("utf-8")))
    return frozenset(found)


@cache
def dynamic_prefixes() -> frozenset[str]:
    pages = (p.read_text(encoding="utf-8") for p in (SRC / "templates").rglob("*.html"))
    return frozenset(_literal(m) for text in pages for m in TEMPLATE_PREFIX.finditer(text))


def translated(msgid: str) -> bool:
    return any(text.strip() and not fuzzy for _, text, fuzzy in catalogue().get(msgid, ()))


def is_used(msgid: str) -> bool:
    return (msgid in used_msgids() or msgid in strings_in_source()
            or any(msgid.startswith(p) for p in dynamic_prefixes()))  # fmt: skip


def test_the_scanner_finds_msgids_in_templates_and_python():
    used = used_msgids()
    assert "templates/registration/identity.html" in used["Check my identity"]
    assert "registration/views.py" in used["Enter your date of birth (day, month, year)."]
    assert (
        "templates/assessment/test_intro.html"
        in used["You pass with at least %(n)s%% right answers."]
    )
    assert "order_" in dynamic_prefixes()
    assert "Attempts left today: %(n)s of 5" in used  # a msgid followed by `% {...}`


def test_every_msgid_has_an_indonesian_translation():
    missing = {m: sorted(files) for m, files in used_msgids().items() if not translated(m)}
    assert missing == {}


def test_every_catalogue_entry_is_used():
    unused = {m: [f for f, _, _ in entries] for m, entries in catalogue().items() if not is_used(m)}
    assert unused == {}


def test_a_msgid_in_several_catalogues_is_translated_the_same_way():
    conflicts = {
        m: sorted({(f, text) for f, text, _ in entries})
        for m, entries in catalogue().items()
        if len({text for _, text, _ in entries if text}) > 1
    }
    assert conflicts == {}


def test_every_code_shown_on_a_page_reads_as_words_in_english():
    """Statuses, topics and flags are translated from their codes (`_(order_status)`); the
    Indonesian catalogue has words for each, and so must English, or an English page shows
    'order_pending'. A code is a msgid of lower-case words joined by underscores."""
    from prakerja.kit import i18n

    code = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)+")
    english = i18n.translations("en")
    raw = sorted(m for m in catalogue() if code.fullmatch(m) and english.gettext(m) == m)
    assert raw == []
    assert i18n.gettext("en", "order_pending") == "awaiting the platform's confirmation"
