"""The agent console (/desk, roles agent and operator) and the operators' statistics page.

Text is shown masked except to the agent assigned to the ticket; that reveal is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from prakerja.feedback import charts, grouping, linking, service_ticket
from prakerja.feedback.classifier import SENTIMENTS, TOPICS
from prakerja.feedback.model import CHANNELS, OPEN_STATUSES, Incident, Ticket
from prakerja.feedback.textnorm import mask_pii
from prakerja.identity.deps import require_staff
from prakerja.identity.model import Account
from prakerja.kit import audit, consoles
from prakerja.kit.clock import utc_now
from prakerja.kit.kept import Kept
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, csrf_protect, current_language, render, translate

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)
AGENTS = ("agent", "operator")
Agent = Annotated[Account, Depends(require_staff(*AGENTS))]


def _new_tickets(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Ticket.status == "new")) or 0)


def _open_incidents(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Incident.status == "open")) or 0)


consoles.register("/desk", "Desk queue", AGENTS, rank=45, waiting=_new_tickets)
consoles.register("/desk/stats", "Desk statistics", ("operator",), rank=45, waiting=_open_incidents)
Operator = Annotated[Account, Depends(require_staff("operator"))]
Text = Annotated[str, Form()]
FILTERS = ("topic", "channel", "region", "partner")


def _back(ticket_id: int) -> RedirectResponse:
    return RedirectResponse(f"/desk/tickets/{ticket_id}", status_code=303)


def queue(session: Session, filters: dict[str, str], limit: int = 200) -> list[Ticket]:
    """Open tickets, most urgent first, then by the deadline that runs out soonest."""
    due = case(
        (Ticket.first_response_at.is_(None), Ticket.first_response_due), else_=Ticket.resolve_due
    )
    stmt = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))
    for name, value in filters.items():
        if value:
            stmt = stmt.where(getattr(Ticket, name) == value)
    return list(session.scalars(stmt.order_by(Ticket.priority, due, Ticket.id).limit(limit)))


@router.get("/desk", response_class=HTMLResponse)
def desk_queue(
    request: Request,
    session: DbSession,
    agent: Agent,
    topic: str = "",
    channel: str = "",
    region: str = "",
    partner: str = "",
) -> HTMLResponse:
    filters = {"topic": topic, "channel": channel, "region": region, "partner": partner}
    return render(
        request,
        "feedback/desk_queue.html",
        {
            "tickets": queue(session, filters),
            "filters": filters,
            "now": utc_now(),
            "topics": TOPICS,
            "channels": CHANNELS,
            "mask": mask_pii,
        },
    )


def _citizen(session: Session, ticket: Ticket) -> dict[str, Any]:
    found = (
        linking.link_many(session, [linking.Clue(account_id=ticket.account_id)])[0]
        if ticket.account_id
        else None
    )
    return {
        "account_id": ticket.account_id,
        "region": ticket.region or (found and found.region),
        "record": ticket.linked_record,
        "hint": linking.hint(ticket.linked_record),
    }


def _canned(session: Session, ticket: Ticket, name: str) -> list[tuple[str, str]]:
    values = {
        "nama": name or "Kak",
        "tiket": ticket.public_id[:8],
        "batas": ticket.resolve_due.strftime("%d-%m-%Y"),
    }
    return [
        (code, service_ticket.fill(text_id, **values))
        for code, topic, text_id, _ in service_ticket.canned_replies(session)
        if topic in (None, ticket.topic)
    ]


@router.get("/desk/tickets/{ticket_id}", response_class=HTMLResponse)
def desk_ticket(
    request: Request, session: DbSession, agent: Agent, ticket_id: RowId
) -> HTMLResponse:
    ticket = service_ticket.get_ticket(session, ticket_id)
    mine = ticket.assigned_agent_id == agent.id
    messages = service_ticket.messages_of(session, ticket.id)
    if mine and messages:
        audit.record(
            session,
            actor=f"account:{agent.id}",
            action="feedback.reveal_messages",
            target=f"ticket:{ticket.id}",
            data={"count": len(messages)},
            now=utc_now(),
        )
    name = next((m.author_name for m in messages if m.author_name), "")
    return render(
        request,
        "feedback/desk_ticket.html",
        {
            "ticket": ticket,
            "mine": mine,
            "messages": messages,
            "now": utc_now(),
            "replies": service_ticket.replies_of(session, ticket.id),
            "mask": mask_pii,
            "citizen": _citizen(session, ticket),
            "canned": _canned(session, ticket, name),
            "codes": service_ticket.RESOLUTION_CODES,
            "topics": TOPICS,
            "sentiments": SENTIMENTS,
        },
    )


@router.post("/desk/tickets/{ticket_id}/take")
def desk_take(session: DbSession, agent: Agent, ticket_id: RowId) -> RedirectResponse:
    service_ticket.take(session, ticket_id=ticket_id, agent_id=agent.id, now=utc_now())
    return _back(ticket_id)


@router.post("/desk/tickets/{ticket_id}/reply")
def desk_reply(session: DbSession, agent: Agent, ticket_id: RowId, body: Text) -> RedirectResponse:
    service_ticket.reply(session, ticket_id=ticket_id, agent_id=agent.id, body=body, now=utc_now())
    return _back(ticket_id)


@router.post("/desk/tickets/{ticket_id}/escalate")
def desk_escalate(
    session: DbSession, agent: Agent, ticket_id: RowId, note: Text = ""
) -> RedirectResponse:
    service_ticket.escalate(
        session, ticket_id=ticket_id, agent_id=agent.id, note=note, now=utc_now()
    )
    return _back(ticket_id)


@router.post("/desk/tickets/{ticket_id}/merge")
def desk_merge(
    session: DbSession,
    agent: Agent,
    ticket_id: RowId,
    into: Annotated[int, Form(ge=1, le=2**63 - 1)],
) -> RedirectResponse:
    keep = service_ticket.merge(
        session, ticket_id=ticket_id, into_id=into, agent_id=agent.id, now=utc_now()
    )
    return _back(keep.id)


@router.post("/desk/tickets/{ticket_id}/resolve")
def desk_resolve(
    session: DbSession, agent: Agent, ticket_id: RowId, code: Text, message: Text = ""
) -> RedirectResponse:
    service_ticket.resolve(
        session, ticket_id=ticket_id, agent_id=agent.id, code=code, message=message, now=utc_now()
    )
    return _back(ticket_id)


@router.post("/desk/messages/{message_id}/correct")
def desk_correct(
    session: DbSession,
    agent: Agent,
    message_id: RowId,
    field: Text,
    value: Text,
    ticket_id: Annotated[int, Form(ge=1, le=2**63 - 1)],
) -> RedirectResponse:
    service_ticket.correct_triage(
        session, message_id=message_id, agent_id=agent.id, field=field, value=value, now=utc_now()
    )
    return _back(ticket_id)


# Six charts over two weeks of messages and tickets (two million rows a fortnight at national
# volume, and an SVG each): each process draws them at most every 2 minutes per language; the
# page says as of when. The incidents below them are read on every view.
STATS_TTL_S = 120.0
_STATS: Kept[tuple[dt.datetime, list[charts.Chart]]] = Kept(ttl_s=STATS_TTL_S, size=2)


@router.get("/desk/stats", response_class=HTMLResponse)
def desk_stats(request: Request, session: DbSession, operator: Operator) -> HTMLResponse:
    incidents = session.scalars(
        select(Incident).order_by(Incident.opened_at.desc()).limit(30)
    ).all()

    def draw() -> tuple[dt.datetime, list[charts.Chart]]:
        now = utc_now()
        return now, charts.stats(session, now=now, label=translate)

    drawn_at, drawn = _STATS.get(current_language(), draw)
    return render(
        request,
        "feedback/desk_stats.html",
        {
            "charts": drawn,
            "drawn_at": drawn_at,
            "refresh_minutes": int(STATS_TTL_S // 60),
            "incidents": incidents,
        },
    )


@router.post("/desk/incidents/{incident_id}/note")
def desk_incident_note(
    session: DbSession, operator: Operator, incident_id: RowId, note: Text, fixed: Text = ""
) -> RedirectResponse:
    grouping.post_note(
        session,
        incident_id=incident_id,
        actor_id=operator.id,
        note=note,
        now=utc_now(),
        fixed=fixed == "1",
    )
    return RedirectResponse("/desk/stats", status_code=303)
