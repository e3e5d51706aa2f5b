"""One source of time: UTC-aware datetimes inside, Asia/Jakarta dates at the programme's edges."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def utc_now() -> dt.datetime:
    """The current instant, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def jakarta_date(instant: dt.datetime) -> dt.date:
    """The calendar date in Jakarta at `instant` (programme deadlines are Jakarta dates)."""
    return instant.astimezone(JAKARTA).date()


def end_of_jakarta_day(day: dt.date) -> dt.datetime:
    """The last instant of a Jakarta calendar day, in UTC."""
    local = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=JAKARTA)
    return local.astimezone(dt.UTC)


def wib(instant: dt.datetime | None, fmt: str = "%d-%m-%Y %H:%M", label: bool = True) -> str:
    """An instant as people in Indonesia read it on a page: Jakarta time, labelled WIB
    ("15-12-2026 09:00 WIB"; `label=False` for the first of a range); the empty string for
    None. Naive values are UTC (SQLite)."""
    if instant is None:
        return ""
    return f"{as_utc(instant).astimezone(JAKARTA):{fmt}}" + (" WIB" if label else "")


def wib_date(instant: dt.datetime | None) -> str:
    """The Jakarta calendar day of an instant, as a page shows it ("15-12-2026")."""
    return "" if instant is None else f"{jakarta_date(as_utc(instant)):%d-%m-%Y}"


def as_utc(instant: dt.datetime) -> dt.datetime:
    """An aware instant as is; a naive one read as UTC (how SQLite and ISO strings without an
    offset hold them)."""
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


def from_wib(instant: dt.datetime) -> dt.datetime:
    """An instant an operator typed, in UTC: a naive one is Jakarta time (WIB), as they read
    their clocks; one with an offset keeps it."""
    local = instant if instant.tzinfo is not None else instant.replace(tzinfo=JAKARTA)
    return local.astimezone(dt.UTC)
