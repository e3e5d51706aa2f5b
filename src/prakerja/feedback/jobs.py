"""Jobs of the desk: a healed record updates its tickets and tells the citizen; the periodic
spike detection, SLA scan, regrouping and re-check of linked records run on a schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.feedback import grouping, linking, routing, service_ticket
from prakerja.feedback.model import OPEN_STATUSES, Ticket
from prakerja.kit import jobs
from prakerja.kit.i18n import gettext

DETECT_SPIKES = "feedback.detect_spikes"
SCAN_SLA = "feedback.scan_sla"
REGROUP = "feedback.regroup"
RECHECK_LINKS = "feedback.recheck_links"

# Sent to the citizen in Bahasa Indonesia, like the desk's other answers; the record is named
# in words, never by its code ("marketplace.order").
HEALED_TEXT = (
    "Good news: the problem with %(what)s is fixed. Please try again. Thank you for reporting it."
)
HEALED_WHAT = {
    "registration.registry": "your identity check with the civil registry",
    "identity.account": "your account",
    "marketplace.order": "your course order",
}
HEALED_WHAT_ELSE = "your data"


def healed_text(kind: str, lang: str = "id") -> str:
    """The message that tells the citizen the record behind their report is healthy again."""
    what = gettext(lang, HEALED_WHAT.get(kind, HEALED_WHAT_ELSE))
    return gettext(lang, HEALED_TEXT) % {"what": what}


@jobs.handler(linking.HEALED_JOB)
def record_healed(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Resolve the open tickets tied to the record if it really is healthy now (idempotent)."""
    kind, record_id = str(payload["kind"]), int(payload["id"])
    status = linking.current_status(session, kind, record_id)
    if not linking.is_healthy(kind, status):
        return
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.record_kind == kind,
            Ticket.record_id == record_id,
            Ticket.status.in_(OPEN_STATUSES),
        )
    )
    for ticket in tickets:
        ticket.linked_record = dict(ticket.linked_record or {}) | {
            "status": status,
            "healed_at": now.isoformat(),
        }
        service_ticket.resolve(
            session,
            ticket_id=ticket.id,
            agent_id=None,
            code="fixed_at_source",
            now=now,
            message=healed_text(kind),
        )


def recheck_links(session: Session, *, now: dt.datetime) -> int:
    """Queue a heal check for every record linked to an open ticket (catches missed calls)."""
    rows = session.execute(
        select(Ticket.record_kind, Ticket.record_id)
        .distinct()
        .where(Ticket.record_kind.is_not(None), Ticket.status.in_(OPEN_STATUSES))
    ).all()
    for kind, record_id in rows:
        if kind is None or record_id is None:
            continue
        linking.notify_record_healed(session, kind=kind, record_id=record_id, now=now)
    return len(rows)


@jobs.handler(DETECT_SPIKES)
def detect_spikes(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Open incidents for spikes of the last hour (an open incident is only updated)."""
    grouping.detect(session, now=now)


@jobs.handler(SCAN_SLA)
def scan_sla(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Alert operators about SLA deadlines that passed (once per ticket and deadline)."""
    routing.scan_breaches(session, now=now)


@jobs.handler(REGROUP)
def regroup(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Recompute the near-duplicate groups of the last day (writes only changed keys)."""
    grouping.regroup(session, now=now)


@jobs.handler(RECHECK_LINKS)
def recheck_links_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Catch heal notices a context missed: one heal check per linked record of an open ticket."""
    recheck_links(session, now=now)


# A spike or a missed first response must reach on-call within minutes. Regrouping a day of
# messages costs seconds of CPU, and a re-check queues one job per linked record, so those run
# less often.
jobs.every(DETECT_SPIKES, minutes=5)
jobs.every(SCAN_SLA, minutes=5)
jobs.every(REGROUP, minutes=15)
jobs.every(RECHECK_LINKS, minutes=60)
