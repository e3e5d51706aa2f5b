"""Operators' statistics: SQL aggregates over messages and tickets, drawn as SVG server-side.

Charts are Altair specs rendered by vl-convert to SVG and embedded as data: URIs (no CDN, no
JavaScript, and the SVG cannot script the page). Each chart also returns its rows for a table.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from prakerja.feedback.model import Message, Ticket
from prakerja.kit.db import is_postgres


@dataclass(frozen=True)
class Chart:
    """One chart: its title, the SVG as a data URI, and the rows it shows."""

    title: str
    svg_uri: str
    rows: list[dict[str, Any]]


def _svg(spec: Any) -> str:
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec.to_json())
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _bar(rows: list[dict[str, Any]], x: str, y: str, color: str | None, title: str) -> Chart:
    import altair as alt

    rows = [r | {"value": r[y]} for r in rows]  # the page's data list shows `value`

    enc: dict[str, Any] = {"x": alt.X(f"{x}:O", title=None), "y": alt.Y(f"{y}:Q", title=None)}
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=None)
    spec = (
        alt.Chart(alt.Data(values=rows))  # type: ignore[no-untyped-call]  # altair is untyped
        .mark_bar()
        .encode(**enc)
        .properties(width=320, height=180)
    )
    return Chart(title, _svg(spec), rows)


def _jakarta_day(session: Session, instant: Any) -> Any:
    """SQL for the Jakarta calendar day of a UTC instant (the office's day, as every page
    shows times in WIB: a message at 20:00 UTC belongs to the next day). Jakarta keeps UTC+7
    all year."""
    if is_postgres(session):
        return func.date(func.timezone("Asia/Jakarta", instant))
    return func.date(instant, "+7 hours")


def _daily(session: Session, column: Any, since: dt.datetime) -> list[dict[str, Any]]:
    day = _jakarta_day(session, Message.received_at)
    stmt = (
        select(day, column, func.count())
        .where(Message.received_at >= since)
        .group_by(day, column)
        .order_by(day)
    )
    return [{"day": str(d), "key": str(k), "n": int(n)} for d, k, n in session.execute(stmt)]


def _sentiment(session: Session, since: dt.datetime) -> list[dict[str, Any]]:
    rows = _daily(session, Message.sentiment, since)
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["day"]] = totals.get(r["day"], 0) + r["n"]
    return [r | {"share": round(r["n"] / totals[r["day"]], 3)} for r in rows]


def _hours_between(session: Session, start: Any, end: Any) -> Any:
    """SQL for the hours from `start` to `end` (SQLite keeps naive UTC text: `julianday`)."""
    if is_postgres(session):
        return func.extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def _resolution_hours(session: Session, since: dt.datetime) -> list[dict[str, Any]]:
    """Per topic, the median hours from a ticket's opening to its resolution (of an even count,
    the upper middle one), found by the database: a national desk resolves a million tickets
    in two weeks, too many rows to bring to Python for a chart."""
    hours = _hours_between(session, Ticket.created_at, Ticket.resolved_at)
    ranked = (
        select(
            Ticket.topic.label("topic"),
            hours.label("hours"),
            func.row_number().over(partition_by=Ticket.topic, order_by=hours).label("rank"),
            func.count().over(partition_by=Ticket.topic).label("n"),
        )
        .where(Ticket.resolved_at.is_not(None), Ticket.created_at >= since)
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.topic, ranked.c.hours)
        .where(ranked.c.rank == ranked.c.n // 2 + 1)
        .order_by(ranked.c.topic)
    )
    return [{"key": t, "hours": round(float(h), 1)} for t, h in rows]


def _sla(session: Session, since: dt.datetime, now: dt.datetime) -> list[dict[str, Any]]:
    """Per team, the share of tickets answered within their first-response time; a ticket
    still inside its time and unanswered is neither met nor missed. One GROUP BY."""
    answered = Ticket.first_response_at.is_not(None)
    met = func.sum(
        case((answered & (Ticket.first_response_at <= Ticket.first_response_due), 1), else_=0)
    )
    counted = func.sum(case((answered | (Ticket.first_response_due <= now), 1), else_=0))
    rows = session.execute(
        select(Ticket.owner_team, met, counted)
        .where(Ticket.created_at >= since)
        .group_by(Ticket.owner_team)
        .order_by(Ticket.owner_team)
    )
    return [{"key": t, "share": round(int(m) / int(c), 3)} for t, m, c in rows if c]


def _partners(session: Session, since: dt.datetime) -> list[dict[str, Any]]:
    stmt = (
        select(Ticket.partner, func.count())
        .where(Ticket.partner.is_not(None), Ticket.created_at >= since)
        .group_by(Ticket.partner)
        .order_by(func.count().desc())
        .limit(10)
    )
    return [{"key": p, "n": int(n)} for p, n in session.execute(stmt)]


def stats(
    session: Session,
    *,
    now: dt.datetime,
    days: int = 14,
    label: Callable[[str], str] = str,
) -> list[Chart]:
    """Every chart of the operators' page over the last `days` days; `label` turns a key (a
    topic, channel, sentiment or team code) into the words the chart shows."""
    since = now - dt.timedelta(days=days)
    specs = [  # rows, x, y, colour, title
        (_daily(session, Message.topic, since), "day", "n", "label", "Volume by topic"),
        (_daily(session, Message.channel, since), "day", "n", "label", "Volume by channel"),
        (_sentiment(session, since), "day", "share", "label", "Sentiment trend"),
        (_resolution_hours(session, since), "label", "hours", None, "Median hours to resolve"),
        (_sla(session, since, now), "label", "share", None, "First response within SLA"),
        (_partners(session, since), "label", "n", None, "Partners with most complaints"),
    ]
    return [
        _bar([r | {"label": label(r["key"])} for r in rows], x, y, colour, title)
        for rows, x, y, colour, title in specs
    ]
