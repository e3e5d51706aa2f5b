"""Limits counted in the database: take one use of a row's allowance in one statement.

A limit checked in Python (read the count, compare, write count + 1) lets requests sent at once
each read "not spent" and all pass; a brute force with N requests in flight then costs the
attacker one count per batch instead of N. `Allowance.take` is one conditional UPDATE instead:
it counts the use and checks the limit under the row's lock (SQLite: the write lock), and a
refused take writes nothing. Used for registry and face checks per day, face checks per
learning session and password-reset links per hour.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Update, bindparam, case, or_, update
from sqlalchemy.orm import InstrumentedAttribute, Session


class Allowance:
    """At most `limit` uses counted in `count`; per period when `period` names the column
    holding the period the count is for (a date for a daily limit, the hour for an hourly
    one): a use in a new period starts the count again at 1. `also` sets more columns on each
    use. Make one per limit, at import: its statement is built once (building one costs more
    CPU than running it)."""

    def __init__(
        self,
        count: InstrumentedAttribute[Any],
        limit: int,
        *,
        period: InstrumentedAttribute[Any] | None = None,
        also: dict[InstrumentedAttribute[Any], Any] | None = None,
    ) -> None:
        self.period = period
        values: dict[Any, Any] = dict(also or {})
        if period is None:
            spare = count < limit
            values[count] = count + 1
        else:
            this = bindparam("period", type_=period.type)
            same = period == this
            spare = or_(period.is_(None), ~same, count < limit)
            values[count] = case((same, count + 1), else_=1)
            values[period] = this
        model = count.class_
        self.statement: Update = (
            update(model)
            .where(model.id == bindparam("row_id"), spare)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        self._counted = [a.key for a in values]

    def take(self, session: Session, row: Any, period: dt.date | dt.datetime | None = None) -> bool:
        """Take one use for `row` (in `period`); False, with nothing written, when spent. The
        counted attributes of `row` are expired, so reading them sees the new count."""
        params: dict[str, Any] = {"row_id": row.id}
        if self.period is not None:
            params["period"] = period
        result: Any = session.execute(self.statement, params)
        if result.rowcount != 1:
            return False
        session.expire(row, self._counted)
        return True
