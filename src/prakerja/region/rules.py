"""Pure rules for population files: every row is checked before anything is loaded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

COLUMNS = ("kode", "nama", "pria", "wanita", "total")
NATIONAL = "0"


@dataclass(frozen=True)
class RowError:
    """One problem in a population file; `row` is the file's line number (header = 1)."""

    row: int
    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PopulationRow:
    """One validated row."""

    code: str
    male: int
    female: int
    total: int


def check_header(header: Iterable[str] | None) -> list[RowError]:
    """Errors for each required column the header lacks."""
    present = {h.strip().lower() for h in header or ()}
    return [
        RowError(1, "", "Missing column %(column)s", (("column", c),))
        for c in COLUMNS
        if c not in present
    ]


def _count(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


def check_row(
    line: int, row: Mapping[str, str | None], known: frozenset[str], seen: set[str]
) -> tuple[PopulationRow | None, list[RowError]]:
    """Validate one row: known code, whole non-negative counts, pria + wanita = total, unique."""
    code = (row.get("kode") or "").strip()
    errors: list[RowError] = []
    if code != NATIONAL and code not in known:
        errors.append(RowError(line, code, "Unknown region code"))
    if code in seen:
        errors.append(RowError(line, code, "Duplicate region code"))
    seen.add(code)
    counts = {}
    for column in ("pria", "wanita", "total"):
        counts[column] = _count(row.get(column))
        if counts[column] is None:
            errors.append(
                RowError(
                    line, code, "Not a whole number in column %(column)s", (("column", column),)
                )
            )
    male, female, total = counts["pria"], counts["wanita"], counts["total"]
    if male is not None and female is not None and total is not None:
        if male + female != total:
            errors.append(RowError(line, code, "pria + wanita does not equal total"))
        if not errors:
            return PopulationRow(code, male, female, total), []
    return None, errors


def check_rows(
    rows: Iterable[tuple[int, Mapping[str, str | None]]], known: frozenset[str]
) -> tuple[list[PopulationRow], list[RowError]]:
    """Validate every row; the rows are usable only when the error list is empty."""
    good: list[PopulationRow] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for line, row in rows:
        parsed, problems = check_row(line, row, known, seen)
        errors.extend(problems)
        if parsed is not None:
            good.append(parsed)
    if not good and not errors:
        errors.append(RowError(2, "", "The file has no data rows"))
    return good, errors
