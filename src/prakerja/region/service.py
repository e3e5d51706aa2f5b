"""Region use-cases: sync the decree's regions into the table, import population, lookups.

Lookups (name_of, is_known, regencies, ...) read the pinned package through the adapter, so
they work without a database. Writes only flush; the caller owns the transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from prakerja.region import adapter, rules
from prakerja.region.model import Region, RegionPopulation

Progress = Callable[[str], None]


def name_of(code: str) -> str | None:
    """The name of a current or retired region code, or None."""
    name = adapter.names().get(code)
    if name is None and code in adapter.RETIRED_REGENCIES:
        return adapter.RETIRED_REGENCIES[code][0]
    return name


def is_known(code: str) -> bool:
    """True for a code in the current decree (retired codes are not 'known')."""
    return code in adapter.names()


def successor_of(code: str) -> str | None:
    """The current code that replaced a retired regency code, else None."""
    entry = adapter.RETIRED_REGENCIES.get(code)
    return entry[1] if entry else None


def retired_regencies() -> Mapping[str, str]:
    """Retired regency code -> its successor's current code."""
    return {old: succ for old, (_, succ) in adapter.RETIRED_REGENCIES.items()}


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """Every current code, levels 1-3."""
    return frozenset(adapter.names())


@lru_cache(maxsize=1)
def provinces() -> tuple[adapter.AdapterRegion, ...]:
    """The 38 current provinces, by code."""
    return tuple(r for r in adapter.regions() if r.level == 1 and not r.retired)


@lru_cache(maxsize=1)
def regencies() -> tuple[adapter.AdapterRegion, ...]:
    """The 514 current kabupaten/kota, by code."""
    return tuple(r for r in adapter.regions() if r.level == 2 and not r.retired)


def _counts(levels: list[int]) -> dict[str, int]:
    return {
        "provinces": levels.count(1),
        "kabupaten_kota": levels.count(2),
        "kecamatan": levels.count(3),
    }


def stats(session: Session) -> dict[str, int]:
    """Current regions per level, from the table, or from the package when the table is empty."""
    rows = session.execute(
        select(Region.level, func.count()).where(Region.retired.is_(False)).group_by(Region.level)
    ).all()
    if not rows:
        return _counts([r.level for r in adapter.regions() if not r.retired])
    by_level = {int(level): int(n) for level, n in rows}
    return {
        "provinces": by_level.get(1, 0),
        "kabupaten_kota": by_level.get(2, 0),
        "kecamatan": by_level.get(3, 0),
    }


def _upsert(
    session: Session, table: Any, rows: list[dict[str, Any]], keys: list[str], changing: list[str]
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE, one multi-row statement (PostgreSQL and SQLite)."""
    if not rows:
        return
    stmt: Any
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(table)
    else:
        stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: stmt.excluded[c] for c in changing}
    )
    session.execute(stmt, rows)


def sync_regions(session: Session, *, now: dt.datetime) -> dict[str, int]:
    """Make the region table equal the pinned decree (plus retired codes); safe to repeat.

    Codes in the table that the package no longer lists are marked retired, never deleted.
    """
    del now  # the region table carries no timestamps; kept for the service signature
    data = adapter.regions()
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "parent_code": r.parent_code,
            "type": r.type,
            "retired": r.retired,
        }
        for r in data
    ]
    _upsert(
        session,
        Region.__table__,
        rows,
        ["code"],
        ["name", "level", "parent_code", "type", "retired"],
    )
    listed = {r.code for r in data}
    existing = set(session.scalars(select(Region.code)))
    dropped = sorted(existing - listed)
    if dropped:
        session.execute(update(Region).where(Region.code.in_(dropped)).values(retired=True))
    session.flush()
    counts = _counts([r.level for r in data if not r.retired])
    counts["retired"] = sum(1 for r in data if r.retired) + len(dropped)
    counts["written"] = len(rows)
    return counts


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows read, rows loaded (0 when any row was bad) and every error."""

    source: str
    rows: int
    loaded: int
    errors: tuple[rules.RowError, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.errors


def _read_population(path: Path) -> tuple[list[rules.PopulationRow], list[rules.RowError], int]:
    """The file's rows checked, or one error naming why it cannot be read as UTF-8 CSV."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header_errors = rules.check_header(reader.fieldnames)
            if header_errors:
                return [], header_errors, 0
            numbered = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as exc:
        text, params = "The file is not UTF-8 text (byte %(at)s); save it as UTF-8 CSV", exc.start
        return [], [rules.RowError(0, "", text, (("at", str(params)),))], 0
    except csv.Error as exc:
        return (
            [],
            [
                rules.RowError(
                    0, "", "The file is not a readable CSV: %(why)s", (("why", str(exc)),)
                )
            ],
            0,
        )
    except OSError as exc:
        return (
            [],
            [
                rules.RowError(
                    0, "", "The file cannot be read: %(why)s", (("why", str(exc.strerror)),)
                )
            ],
            0,
        )
    good, errors = rules.check_rows(numbered, known_codes())
    return good, errors, len(numbered)


def import_population(
    session: Session, path: Path, *, source: str, now: dt.datetime, progress: Progress | None = None
) -> ImportReport:
    """Load a kode,nama,pria,wanita,total file; all rows or none (every bad row is reported).

    Re-importing the same source replaces its figures, so the import is idempotent.
    """
    step = progress or (lambda _msg: None)
    source = source.strip()
    if not source or len(source) > 60:
        error = rules.RowError(0, "", "The source label must be 1 to 60 characters")
        return ImportReport(source, 0, 0, (error,))
    step("validate")
    good, errors, count = _read_population(Path(path))
    if errors:
        return ImportReport(source, count, 0, tuple(errors))
    step("load")
    rows = [
        {
            "code": r.code,
            "source": source,
            "male": r.male,
            "female": r.female,
            "total": r.total,
            "imported_at": now,
        }
        for r in good
    ]
    _upsert(
        session,
        RegionPopulation.__table__,
        rows,
        ["code", "source"],
        ["male", "female", "total", "imported_at"],
    )
    session.flush()
    return ImportReport(source, count, len(rows))
