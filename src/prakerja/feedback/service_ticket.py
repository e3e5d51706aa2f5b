"""Working a ticket: take, reply on the original channel, escalate, merge, resolve, survey, SLA.

Every agent action is audited. Replies and alerts go out through kit.notify (a job delivers
them); escalations to a partner with a webhook go through the marketplace's signed webhooks.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from prakerja.feedback import linking, routing
from prakerja.feedback.intake_rules import HASHED_MAIL_ID
from prakerja.feedback.model import OPEN_STATUSES, CannedReply, Message, Reply, Ticket
from prakerja.kit import audit, notify
from prakerja.kit.errors import Conflict, Invalid, NotFound
from prakerja.settings import get_settings

RESOLUTION_CODES = (
    "fixed",
    "fixed_at_source",
    "explained",
    "duplicate",
    "partner_fixed",
    "no_action_needed",
    "fraud_reported",
)
CORRECTABLE = {"topic", "sentiment", "urgent"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class TicketClosed(Conflict):
    code = "feedback.ticket_closed"
    title = "The ticket is already resolved or closed"


class BadResolution(Invalid):
    code = "feedback.bad_resolution"
    title = "Unknown resolution code"


class EmptyReply(Invalid):
    code = "feedback.empty_reply"
    title = "The reply is empty"


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    """The ticket, or NotFound."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


def _open(session: Session, ticket_id: int) -> Ticket:
    ticket = get_ticket(session, ticket_id)
    if ticket.status not in OPEN_STATUSES:
        raise TicketClosed()
    return ticket


def messages_of(session: Session, ticket_id: int) -> list[Message]:
    """The ticket's messages, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.ticket_id == ticket_id)
            .order_by(Message.received_at, Message.id)
        )
    )


def replies_of(session: Session, ticket_id: int) -> list[Reply]:
    return list(
        session.scalars(select(Reply).where(Reply.ticket_id == ticket_id).order_by(Reply.id))
    )


def _audit(
    session: Session, agent_id: int, action: str, ticket: Ticket, now: dt.datetime, **data: Any
) -> None:
    audit.record(
        session,
        actor=f"account:{agent_id}",
        action=f"feedback.{action}",
        target=f"ticket:{ticket.id}",
        data=data,
        now=now,
    )


def take(session: Session, *, ticket_id: int, agent_id: int, now: dt.datetime) -> Ticket:
    """Assign the ticket to the agent (who then sees the unmasked text)."""
    ticket = _open(session, ticket_id)
    ticket.assigned_agent_id, ticket.updated_at = agent_id, now
    if ticket.status == "new":
        ticket.status = "open"
    _audit(session, agent_id, "take", ticket, now)
    session.flush()
    return ticket


def _send(
    session: Session, ticket: Ticket, body: str, now: dt.datetime, threading: dict[str, str]
) -> tuple[str, int | None]:
    """Deliver text to the citizen on the ticket's channel; (channel used, notification id).
    `threading` (In-Reply-To / References) goes on an email so it joins the citizen's thread."""
    if ticket.contact_email:
        note_id = notify.send_email(
            session,
            to=ticket.contact_email,
            subject=f"Re: {ticket.subject[:150]} [#{ticket.public_id}]",
            body=body,
            now=now,
            headers=threading,
        )
        return "email", note_id
    if ticket.contact_phone and (phone := linking.phone_e164(ticket.contact_phone)):
        return "sms", notify.send_sms(session, to=phone, body=body[:600], now=now)
    return ticket.channel, None  # a public comment: the agent answers on the platform


def _last_email(session: Session, ticket_id: int) -> tuple[str | None, dict[str, str]]:
    """The newest inbound mail of the ticket, and the headers that thread an answer to it:
    In-Reply-To that mail, References its thread's root (which the citizen's client knows, and
    by which our intake threads their next answer) then that mail. Stand-in ids of mails that
    had no Message-ID, and ids unfit for a header, are left out."""
    row = session.execute(
        select(Message.source_id, Message.thread_id)
        .where(Message.ticket_id == ticket_id, Message.channel == "email")
        .order_by(Message.received_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, {}
    root = (row.thread_id or "").removeprefix("email:")
    refs = [
        r
        for r in dict.fromkeys((root, row.source_id))
        if notify.MESSAGE_ID.fullmatch(r) and not HASHED_MAIL_ID.fullmatch(r)
    ]
    if row.source_id not in refs:
        return row.source_id, {}
    return row.source_id, {"In-Reply-To": row.source_id, "References": " ".join(refs)}


def reply(session: Session, *, ticket_id: int, agent_id: int, body: str, now: dt.datetime) -> Reply:
    """Answer the citizen through the original channel; the first answer stops the first SLA."""
    text = body.strip()
    if not text:
        raise EmptyReply()
    ticket = _open(session, ticket_id)
    in_reply_to, threading = _last_email(session, ticket.id)
    channel, note_id = _send(session, ticket, text, now, threading)
    out = Reply(
        ticket_id=ticket.id,
        channel=channel,
        body=text[:20_000],
        agent_id=agent_id,
        in_reply_to=in_reply_to,
        notification_id=note_id,
        sent_at=now,
    )
    session.add(out)
    ticket.first_response_at = ticket.first_response_at or now
    ticket.status = "open" if ticket.status == "new" else ticket.status
    ticket.assigned_agent_id = ticket.assigned_agent_id or agent_id
    ticket.updated_at = now
    _audit(session, agent_id, "reply", ticket, now, channel=channel)
    session.flush()
    return out


def evidence(session: Session, ticket: Ticket) -> dict[str, Any]:
    """What a partner receives: masked messages, the linked record, counts; no contact data."""
    msgs = messages_of(session, ticket.id)
    return {
        "ticket": ticket.public_id,
        "topic": ticket.topic,
        "region": ticket.region,
        "opened_at": ticket.created_at.isoformat(),
        "message_count": len(msgs),
        "messages": [
            {"at": m.received_at.isoformat(), "channel": m.channel, "text": m.body_masked[:2000]}
            for m in msgs[:10]
        ],
        "linked_record": ticket.linked_record,
    }


def escalate(
    session: Session, *, ticket_id: int, agent_id: int, note: str, now: dt.datetime
) -> str:
    """Hand the ticket to its partner with the evidence; returns how it went (webhook|email)."""
    ticket = _open(session, ticket_id)
    partner = ticket.partner or ticket.owner_team
    data = evidence(session, ticket) | {"note": note.strip()[:2000]}
    partner_id, email = linking.partner_channel(session, ticket.partner)
    if partner_id is not None:
        from prakerja.marketplace.service_webhook import emit

        emit(session, partner_id=partner_id, event="feedback.escalated", data=data, now=now)
        how = "webhook"
    else:
        import json

        notify.send_email(
            session,
            to=email or f"{partner}@partners.prakerja.local",
            subject=f"[Prakerja] Eskalasi tiket #{ticket.public_id}",
            body=json.dumps(data, ensure_ascii=False, indent=2),
            now=now,
        )
        how = "email"
    ticket.status, ticket.updated_at = "waiting_partner", now
    _audit(session, agent_id, "escalate", ticket, now, partner=partner, via=how)
    session.flush()
    return how


def merge(
    session: Session, *, ticket_id: int, into_id: int, agent_id: int, now: dt.datetime
) -> Ticket:
    """Move a duplicate's messages to the kept ticket and close the duplicate."""
    if ticket_id == into_id:
        raise Invalid("a ticket cannot be merged into itself")
    dup, keep = _open(session, ticket_id), _open(session, into_id)
    session.execute(update(Message).where(Message.ticket_id == dup.id).values(ticket_id=keep.id))
    dup.status, dup.merged_into_id, dup.resolution_code = "closed", keep.id, "duplicate"
    dup.resolved_at = dup.updated_at = keep.updated_at = now
    keep.priority = min(keep.priority, dup.priority)
    _audit(session, agent_id, "merge", dup, now, into=keep.id)
    session.flush()
    return keep


def resolve(
    session: Session,
    *,
    ticket_id: int,
    agent_id: int | None,
    code: str,
    now: dt.datetime,
    message: str = "",
) -> Ticket:
    """Close the problem with a code, tell the citizen and send the satisfaction survey link."""
    if code not in RESOLUTION_CODES:
        raise BadResolution(f"use one of {', '.join(RESOLUTION_CODES)}")
    ticket = _open(session, ticket_id)
    ticket.status, ticket.resolution_code, ticket.resolved_at = "resolved", code, now
    ticket.csat_token, ticket.updated_at = secrets.token_urlsafe(16), now
    link = f"{get_settings().base_url}/complaints/survey/{ticket.csat_token}"
    text = (message.strip() + "\n\n" if message.strip() else "") + (
        "Laporan Anda telah kami selesaikan. Bagaimana layanan kami? Beri nilai 1-5 di: " + link
    )
    in_reply_to, threading = _last_email(session, ticket.id)
    channel, note_id = _send(session, ticket, text, now, threading)
    session.add(
        Reply(
            ticket_id=ticket.id,
            channel=channel,
            body=text,
            agent_id=agent_id,
            in_reply_to=in_reply_to,
            notification_id=note_id,
            sent_at=now,
        )
    )
    _audit(session, agent_id or 0, "resolve", ticket, now, code=code)
    session.flush()
    return ticket


def submit_csat(session: Session, *, token: str, score: int, now: dt.datetime) -> Ticket:
    """Record the citizen's 1-5 rating once; a second rating replaces nothing."""
    if not 1 <= score <= 5:
        raise Invalid("score must be 1 to 5")
    ticket = session.scalar(select(Ticket).where(Ticket.csat_token == token))
    if ticket is None:
        raise NotFound("no such survey")
    if ticket.csat_score is not None:
        raise Conflict("this survey was already answered")
    ticket.csat_score, ticket.updated_at = score, now
    session.flush()
    return ticket


def correct_triage(
    session: Session, *, message_id: int, agent_id: int, field: str, value: str, now: dt.datetime
) -> None:
    """Fix the model's reading of a message (it becomes training data) and re-route the ticket."""
    from prakerja.feedback.classifier import SENTIMENTS, TOPICS
    from prakerja.feedback.model import TriageCorrection

    allowed = {"topic": TOPICS, "sentiment": SENTIMENTS, "urgent": ("true", "false")}
    if field not in CORRECTABLE or value not in allowed[field]:
        raise Invalid(f"{field} cannot be {value!r}")
    msg = session.get(Message, message_id)
    if msg is None:
        raise NotFound("no such message")
    old = str(getattr(msg, field)).lower() if getattr(msg, field) is not None else None
    session.add(
        TriageCorrection(
            message_id=msg.id, field=field, old=old, new=value, agent_id=agent_id, at=now
        )
    )
    setattr(msg, field, value == "true" if field == "urgent" else value)
    if msg.ticket_id is not None:
        _reroute(session, get_ticket(session, msg.ticket_id), msg, now)
    session.flush()


def _reroute(session: Session, ticket: Ticket, msg: Message, now: dt.datetime) -> None:
    route = routing.routes(session)[msg.topic or "other"]
    ticket.topic, ticket.owner_team = msg.topic or "other", route.team
    ticket.partner = msg.partner or route.partner
    ticket.priority = routing.priority(msg.urgent, msg.sentiment)
    if ticket.first_response_at is None:
        first, _ = routing.due_times(route, urgent=msg.urgent, start=ticket.created_at)
        ticket.first_response_due = min(ticket.first_response_due, first)
    ticket.updated_at = now


def corrections_as_records(session: Session) -> list[dict[str, Any]]:
    """Agents' corrections as training records (masked text, newest label per field)."""
    from prakerja.feedback.model import TriageCorrection

    rows = session.execute(
        select(
            TriageCorrection.message_id,
            TriageCorrection.field,
            TriageCorrection.new,
            Message.subject,
            Message.body_masked,
        )
        .join(Message, Message.id == TriageCorrection.message_id)
        .order_by(TriageCorrection.id)
    )
    out: dict[int, dict[str, Any]] = {}
    for mid, field, new, subject, body in rows:
        rec = out.setdefault(mid, {"text": f"{subject}\n{body}" if subject else body})
        rec[field] = (new == "true") if field == "urgent" else new
    return list(out.values())


DEFAULT_CANNED = {
    "otp": (
        "login_otp",
        "Halo {nama}, mohon maaf atas kendala OTP. Pastikan nomor HP aktif dan "
        "sinyal baik, lalu tunggu 2 menit sebelum meminta kode baru. Tiket Anda: {tiket}.",
        "Hello {nama}, sorry about the OTP trouble. Check your phone number and signal, "
        "then wait 2 minutes before asking for a new code. Your ticket: {tiket}.",
    ),
    "registry": (
        "registration_identity",
        "Halo {nama}, data NIK/KK Anda belum cocok dengan "
        "Dukcapil. Mohon periksa kembali sesuai KTP dan KK. Tiket Anda: {tiket}.",
        "Hello {nama}, your NIK/KK does not match the civil registry yet. Please check "
        "it against your KTP and KK. Your ticket: {tiket}.",
    ),
    "incentive": (
        "incentive_payment",
        "Halo {nama}, insentif Anda sedang kami periksa bersama "
        "mitra pembayaran. Kami kabari paling lambat {batas}. Tiket: {tiket}.",
        "Hello {nama}, we are checking your incentive with the payment partner. We "
        "will update you by {batas}. Ticket: {tiket}.",
    ),
    "thanks": (
        None,
        "Terima kasih, {nama}. Masukan Anda sudah kami terima (tiket {tiket}).",
        "Thank you, {nama}. We have your feedback (ticket {tiket}).",
    ),
}


def canned_replies(session: Session) -> list[tuple[str, str | None, str, str]]:
    """(code, topic, text_id, text_en) for every canned reply: stored ones override defaults."""
    table = {code: (code, *values) for code, values in DEFAULT_CANNED.items()}
    for row in session.scalars(select(CannedReply)):
        table[row.code] = (row.code, row.topic, row.text_id, row.text_en)
    return sorted(table.values())


def fill(template: str, **values: str) -> str:
    """A canned reply with its {placeholders} filled; unknown placeholders stay visible."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
