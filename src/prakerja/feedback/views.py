"""Citizen and public pages: the complaint form (logged in or not), my complaints, the survey,
and "Kamu bilang, kami perbaiki"."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.feedback import service_ticket
from prakerja.feedback.intake_rules import Incoming
from prakerja.feedback.model import Incident, Message, Ticket
from prakerja.feedback.service_intake import ingest
from prakerja.identity.deps import CurrentCitizen, OptionalAccount
from prakerja.identity.model import Account
from prakerja.kit.clock import utc_now
from prakerja.kit.db import new_id
from prakerja.kit.errors import DomainError, Invalid, NotFound
from prakerja.kit.kept import Kept
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import csrf_protect, render, translate
from prakerja.settings import get_settings

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)
Text = Annotated[str, Form()]
MAGIC = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


class BadUpload(Invalid):
    code = "feedback.bad_upload"
    title = "The photo must be a JPEG or PNG image no larger than the limit"


def sniff(data: bytes) -> str | None:
    """The image type by magic bytes (JPEG, PNG, WebP), whatever the file name claims."""
    for magic, kind in MAGIC.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def _photo(upload: UploadFile | None) -> tuple[bytes | None, str | None]:
    if upload is None or not upload.filename:
        return None, None
    limit = get_settings().upload_max_bytes
    data = await upload.read(limit + 1)
    kind = sniff(data)
    if len(data) > limit or kind is None:
        raise BadUpload()
    return data, kind


def _check(subject: str, text: str, email: str, phone: str, signed_in: bool) -> None:
    if not 3 <= len(subject.strip()) <= 200:
        raise Invalid(translate("Write a short subject (3 to 200 characters)."))
    if not 5 <= len(text.strip()) <= 20_000:
        raise Invalid(translate("Describe the problem (5 to 20,000 characters)."))
    if not signed_in and not (email.strip() or phone.strip()):
        raise Invalid(translate("Give an email address or a phone number so we can answer you."))


def _take(session: DbSession, now: dt.datetime, **fields: Any) -> tuple[Message, bool]:
    """One message written on the site, taken in like any channel's (triage, ticket)."""
    incoming = Incoming(channel="web", source_id=f"web:{new_id()}", received_at=now, **fields)
    return ingest(session, incoming, now=now)


@router.get("/complaints/new", response_class=HTMLResponse)
def complaint_form(request: Request, account: OptionalAccount) -> HTMLResponse:
    return render(
        request,
        "feedback/complaint_new.html",
        {"error": "", "form": {}, "signed_in": account is not None},
    )


@router.post("/complaints/new", response_class=HTMLResponse)
async def complaint_submit(
    request: Request,
    session: DbSession,
    account: OptionalAccount,
    subject: Text,
    text: Text,
    name: Text = "",
    email: Text = "",
    phone: Text = "",
    photo: UploadFile | None = None,
) -> Response:
    form = {"subject": subject, "text": text, "name": name, "email": email, "phone": phone}
    now = utc_now()
    try:
        _check(subject, text, email, phone, account is not None)
        data, kind = await _photo(photo)
        msg, _ = _take(
            session,
            now,
            subject=subject,
            body=text,
            author_name=name,
            author_email=account.email if account else email,
            author_phone=phone or None,
            account_id=account.id if account else None,
            attachment=data,
            attachment_type=kind,
        )
    except DomainError as exc:
        session.rollback()
        return render(
            request,
            "feedback/complaint_new.html",
            {"error": exc.detail, "form": form, "signed_in": account is not None},
            status_code=422,
        )
    ticket = session.get(Ticket, msg.ticket_id) if msg.ticket_id else None
    return render(request, "feedback/complaint_done.html", {"ticket": ticket})


@router.get("/complaints", response_class=HTMLResponse)
def my_complaints(request: Request, session: DbSession, citizen: CurrentCitizen) -> HTMLResponse:
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.account_id == citizen.id)
        .order_by(Ticket.created_at.desc())
        .limit(100)
    ).all()
    return render(request, "feedback/complaints.html", {"tickets": tickets})


def _own_ticket(session: DbSession, public_id: str, account_id: int) -> Ticket:
    """The citizen's own ticket; anyone else's is not found (404), as if it did not exist."""
    ticket = session.scalar(
        select(Ticket).where(Ticket.public_id == public_id, Ticket.account_id == account_id)
    )
    if ticket is None:
        raise NotFound("No such complaint")
    return ticket


@router.get("/complaints/{public_id}", response_class=HTMLResponse)
def my_complaint(
    request: Request, public_id: str, session: DbSession, citizen: CurrentCitizen
) -> HTMLResponse:
    """One of the citizen's own reports: what they wrote and what the desk answered, in order,
    and a form to add to it."""
    return _complaint_page(request, session, citizen, _own_ticket(session, public_id, citizen.id))


def _complaint_page(
    request: Request,
    session: DbSession,
    citizen: Account,
    ticket: Ticket,
    error: str = "",
) -> HTMLResponse:
    said = [
        ("citizen", m.received_at, m.body)
        for m in service_ticket.messages_of(session, ticket.id)
        if m.account_id == citizen.id  # a merged ticket may hold other people's messages
    ]
    answered = [("desk", r.sent_at, r.body) for r in service_ticket.replies_of(session, ticket.id)]
    return render(
        request,
        "feedback/complaint.html",
        {
            "ticket": ticket,
            "thread": sorted(said + answered, key=lambda item: item[1]),
            "replied": bool(answered),
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.post("/complaints/{public_id}", response_model=None)
def add_to_complaint(
    request: Request, public_id: str, session: DbSession, citizen: CurrentCitizen, text: Text
) -> Response:
    """The citizen writes more on their own report: a web message threaded onto the ticket by
    its number (intake threads it only from the same account), which reopens it if resolved."""
    ticket = _own_ticket(session, public_id, citizen.id)
    if not 5 <= len(text.strip()) <= 20_000:
        error = translate("Describe the problem (5 to 20,000 characters).")
        return _complaint_page(request, session, citizen, ticket, error)
    _take(
        session,
        utc_now(),
        subject=f"Re: [#{ticket.public_id}] {ticket.subject}"[:300],
        body=text,
        author_email=citizen.email,
        account_id=citizen.id,
    )
    return RedirectResponse(f"/complaints/{public_id}#thread", status_code=303)


@router.get("/complaints/survey/{token}", response_class=HTMLResponse)
def survey_form(request: Request, token: str) -> HTMLResponse:
    return render(request, "feedback/survey.html", {"token": token, "done": False, "error": ""})


@router.post("/complaints/survey/{token}", response_class=HTMLResponse)
def survey_submit(
    request: Request, session: DbSession, token: str, score: Annotated[int, Form()]
) -> HTMLResponse:
    try:
        service_ticket.submit_csat(session, token=token, score=score, now=utc_now())
    except DomainError as exc:
        session.rollback()
        return render(
            request,
            "feedback/survey.html",
            {"token": token, "done": False, "error": exc.detail},
            status_code=422,
        )
    return render(request, "feedback/survey.html", {"token": token, "done": True, "error": ""})


# The footer of every page links here, and its top topics count 30 days of messages (millions
# at national scale): each process counts them at most every 5 minutes (kit.kept).
_TOP_TOPICS: Kept[list[tuple[str, int]]] = Kept(ttl_s=300.0, size=1)


def top_topics(session: Session, now: dt.datetime) -> list[tuple[str, int]]:
    """The eight topics citizens raised most in the last 30 days, with their counts."""
    rows = session.execute(
        select(Message.topic, func.count())
        .where(
            Message.received_at >= now - dt.timedelta(days=30),
            Message.topic.is_not(None),
            Message.topic.not_in(("praise_suggestion", "other")),
        )
        .group_by(Message.topic)
        .order_by(func.count().desc())
        .limit(8)
    )
    return [(str(topic), int(n)) for topic, n in rows]


@router.get("/kamu-bilang-kami-perbaiki", response_class=HTMLResponse)
def you_said_we_fixed(request: Request, session: DbSession) -> HTMLResponse:
    top = _TOP_TOPICS.get("top", lambda: top_topics(session, utc_now()))
    fixed = session.scalars(
        select(Incident)
        .where(Incident.fix_note.is_not(None))
        .order_by(Incident.resolved_at.desc())
        .limit(20)
    ).all()
    ongoing = session.scalars(
        select(Incident)
        .where(Incident.status == "open", Incident.public_note.is_not(None))
        .order_by(Incident.opened_at.desc())
        .limit(20)
    ).all()
    return render(
        request, "feedback/public_fixed.html", {"top": top, "fixed": fixed, "ongoing": ongoing}
    )
