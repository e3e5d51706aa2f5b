"""Outgoing email (SMTP) and SMS (HTTP gateway), always sent by a job.

`send_email` / `send_sms` write a Notification row and its delivery job in the caller's
transaction. The job delivers it; a retry after a delivery whose result was lost can send twice,
so the message carries its notification id (SMTP Message-ID, gateway `client_ref`) for the
receiving side to de-duplicate. Every notification stays visible on the dev inbox page in demo.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from prakerja.kit import jobs
from prakerja.kit.db import Base, BigId, UTCDateTime
from prakerja.settings import get_settings


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | sent
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _queue(
    session: Session, channel: str, to: str, subject: str, body: str, now: dt.datetime
) -> Notification:
    note = Notification(
        channel=channel, recipient=to, subject=subject, body=body, status="queued", created_at=now
    )
    session.add(note)
    session.flush()
    jobs.enqueue(session, "notify.deliver", {"id": note.id}, now=now)
    return note


def send_email(
    session: Session, *, to: str, subject: str, body: str, now: dt.datetime
) -> Notification:
    """Queue an email; it is delivered by the `notify.deliver` job."""
    return _queue(session, "email", to, subject, body, now)


def send_sms(session: Session, *, to: str, body: str, now: dt.datetime) -> Notification:
    """Queue an SMS; it is delivered by the `notify.deliver` job."""
    return _queue(session, "sms", to, "", body, now)


def _deliver_email(note: Notification) -> None:
    s = get_settings()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = s.smtp_sender, note.recipient, note.subject
    msg["Message-ID"] = make_msgid(idstring=f"n{note.id}", domain="prakerja.local")
    msg.set_content(note.body)
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.adapter_timeout_s * 5) as smtp:
        smtp.send_message(msg)


def _deliver_sms(note: Notification) -> None:
    s = get_settings()
    resp = httpx.post(
        f"{s.sms_gateway_url}/sms",
        timeout=s.adapter_timeout_s,
        json={"to": note.recipient, "text": note.body, "client_ref": _client_ref(note)},
    )
    resp.raise_for_status()


def _client_ref(note: Notification) -> str:
    """Stable across retries of one notification, distinct across databases (ids restart)."""
    return f"n{note.id}.{int(note.created_at.timestamp() * 1_000_000)}"


@jobs.handler("notify.deliver")
def deliver(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Deliver one notification; already-sent ones are skipped (the job may run twice)."""
    note = session.get(Notification, payload["id"])
    if note is None or note.status == "sent":
        return
    (_deliver_email if note.channel == "email" else _deliver_sms)(note)
    note.status, note.sent_at = "sent", now


def inbox(session: Session, limit: int = 100) -> list[Notification]:
    """The newest notifications, for the demo's dev inbox page."""
    return list(session.scalars(select(Notification).order_by(Notification.id.desc()).limit(limit)))
