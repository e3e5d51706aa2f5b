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
