"""JSON API of the desk: staff ingestion of chats and call notes, citizens' complaints."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from prakerja.feedback.intake_rules import Incoming
from prakerja.feedback.model import Ticket
from prakerja.feedback.service_intake import ingest, ingest_many
from prakerja.feedback.service_ticket import messages_of, replies_of
from prakerja.identity.deps import CurrentCitizen, require_staff
from prakerja.identity.model import Account
from prakerja.kit.clock import utc_now
from prakerja.kit.db import new_id
from prakerja.kit.errors import NotFound
from prakerja.kit.routing import DbSession, new_router

router = new_router(prefix="/api/v1/feedback", tags=["feedback"])
Staff = Annotated[Account, Depends(require_staff("agent", "operator"))]
PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Login required", **PROBLEM},
    403: {"description": "Not allowed", **PROBLEM},
    422: {"description": "Invalid input (problem+json with the failing fields)", **PROBLEM},
}


class ChatLine(BaseModel):
    session_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    sent_at: dt.datetime
    text: str = Field(max_length=200_000)
    author_name: str = Field("", max_length=200)
    author_email: str | None = Field(None, max_length=320)
    author_phone: str | None = Field(None, max_length=40)
    partner: str | None = Field(None, max_length=40)


class ChatBatch(BaseModel):
    messages: list[ChatLine] = Field(min_length=1, max_length=10_000)


class CallNote(BaseModel):
    call_id: str = Field(min_length=1, max_length=200)
    started_at: dt.datetime
    note: str = Field(min_length=1, max_length=50_000)
    caller_name: str = Field("", max_length=200)
    caller_phone: str | None = Field(None, max_length=40)
    caller_email: str | None = Field(None, max_length=320)
    region: str | None = Field(None, max_length=5)


class CallBatch(BaseModel):
    notes: list[CallNote] = Field(min_length=1, max_length=10_000)


class IngestResult(BaseModel):
    created: int
    duplicates: int
    errors: list[dict[str, Any]]


class ComplaintIn(BaseModel):
    subject: str = Field(min_length=3, max_length=200)
    text: str = Field(min_length=5, max_length=20_000)


class TicketRead(BaseModel):
    id: str
    status: str
    topic: str
    subject: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution_code: str | None
    messages: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []


def _aware(stamp: dt.datetime) -> dt.datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


@router.post("/chat-transcripts", responses=ERRORS)
def post_chats(body: ChatBatch, session: DbSession, staff: Staff) -> IngestResult:
    """Store chat lines once each (by message_id); a chat session is one thread."""
    rows = [
        Incoming(
            channel="chat",
            source_id=m.message_id,
            thread_id=m.session_id,
            received_at=_aware(m.sent_at),
            body=m.text,
            author_name=m.author_name,
            author_email=m.author_email,
            author_phone=m.author_phone,
            partner=m.partner,
        )
        for m in body.messages
    ]
    return IngestResult(**ingest_many(session, rows, now=utc_now()).as_dict())


@router.post("/call-notes", responses=ERRORS)
def post_calls(body: CallBatch, session: DbSession, staff: Staff) -> IngestResult:
    """Store call-centre notes once each (by call_id)."""
    rows = [
        Incoming(
            channel="call",
            source_id=n.call_id,
            received_at=_aware(n.started_at),
            body=n.note,
            author_name=n.caller_name,
            author_phone=n.caller_phone,
            author_email=n.caller_email,
            region=n.region,
        )
        for n in body.notes
    ]
    return IngestResult(**ingest_many(session, rows, now=utc_now()).as_dict())


@router.post("/complaints", status_code=201, responses=ERRORS)
def post_complaint(body: ComplaintIn, session: DbSession, citizen: CurrentCitizen) -> TicketRead:
    """A logged-in citizen's complaint; it opens (or joins) a ticket the citizen can follow."""
    now = utc_now()
    msg, _ = ingest(
        session,
        Incoming(
            channel="web",
            source_id=f"api:{new_id()}",
            received_at=now,
            body=body.text,
            subject=body.subject,
            author_email=citizen.email,
            account_id=citizen.id,
        ),
        now=now,
    )
    return _read(session, session.get(Ticket, msg.ticket_id), full=False)


@router.get(
    "/tickets/{ticket_id}",
    responses={404: {"description": "No such ticket of yours", **PROBLEM}, **ERRORS},
)
def get_ticket(ticket_id: str, session: DbSession, citizen: CurrentCitizen) -> TicketRead:
    """One of the caller's own tickets, with the messages and the desk's replies."""
    ticket = session.scalar(select(Ticket).where(Ticket.public_id == ticket_id))
    if ticket is None or ticket.account_id != citizen.id:
        raise NotFound("no such ticket")
    return _read(session, ticket, full=True)


def _read(session: Any, ticket: Ticket | None, *, full: bool) -> TicketRead:
    if ticket is None:
        raise NotFound("no such ticket")
    out = TicketRead(
        id=ticket.public_id,
        status=ticket.status,
        topic=ticket.topic,
        subject=ticket.subject,
        created_at=ticket.created_at,
        resolved_at=ticket.resolved_at,
        resolution_code=ticket.resolution_code,
    )
    if full:
        out.messages = [
            {"at": m.received_at, "channel": m.channel, "text": m.body}
            for m in messages_of(session, ticket.id)
        ]
        out.replies = [{"at": r.sent_at, "text": r.body} for r in replies_of(session, ticket.id)]
    return out
