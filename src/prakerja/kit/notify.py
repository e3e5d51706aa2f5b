"""Outgoing email (SMTP) and SMS (HTTP gateway), always sent by a job.

`send_email` / `send_sms` write a Notification row and its delivery job in the caller's
transaction. The job delivers it; a retry after a delivery whose result was lost can send twice,
so the message carries an id fixed when it was queued (SMTP Message-ID, gateway `client_ref`)
for the receiving side to de-duplicate. An email may carry threading headers (In-Reply-To,
References) so a reply lands in the recipient's conversation; only those names are accepted and
only message ids as values, so no caller can inject a header. A notification stays visible on
the dev inbox page in demo until the daily `notify.purge_sent` deletes it, 30 days after it was
sent: its body carries one-time codes, card numbers and names, its recipient an address.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
import structlog
from sqlalchemy import JSON, CursorResult, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from prakerja.kit import jobs
from prakerja.kit.db import Base, BigId, UTCDateTime, insert_returning, table_of
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
    # email only: Message-ID (set when queued, so a retry sends the same one) + THREAD_HEADERS
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)


# Headers a caller may add to an email; each value is one or more message ids.
THREAD_HEADERS = ("In-Reply-To", "References")
MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")  # printable ASCII, no <, >, space
MAX_REFERENCES = 20


class BadHeader(ValueError):
    """A caller passed a header name outside THREAD_HEADERS or a value that is not message ids."""


def thread_headers(extra: Mapping[str, str]) -> dict[str, str]:
    """Validated threading headers, names in canonical spelling; raises BadHeader."""
    canonical = {name.lower(): name for name in THREAD_HEADERS}
    out: dict[str, str] = {}
    for name, value in extra.items():
        key = canonical.get(name.lower())
        if key is None:
            raise BadHeader(f"header {name!r} is not allowed")
        ids = value.split(" ")
        if not 0 < len(ids) <= MAX_REFERENCES or not all(MESSAGE_ID.fullmatch(i) for i in ids):
            raise BadHeader(f"{key} must be message ids separated by single spaces")
        out[key] = value
    return out


def _queue(
    session: Session,
    channel: str,
    to: str,
    subject: str,
    body: str,
    now: dt.datetime,
    headers: dict[str, str] | None = None,
) -> int:
    row = {
        "channel": channel,
        "recipient": to,
        "subject": subject,
        "body": body,
        "status": "queued",
        "created_at": now,
        "sent_at": None,
        "headers": headers,
    }
    # a Core insert: the unit of work's flush cost more than a millisecond per message
    stmt = insert_returning(table_of(Notification), session.get_bind().dialect.name)
    note_id = int(session.execute(stmt, row).scalar_one())
    jobs.enqueue(session, "notify.deliver", {"id": note_id}, now=now)
    return note_id


def send_email(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    now: dt.datetime,
    headers: Mapping[str, str] | None = None,
) -> int:
    """Queue an email (its notification id); it is delivered by the `notify.deliver` job.
    `headers` may hold In-Reply-To / References (see `thread_headers`); the Message-ID is
    generated here."""
    own = {"Message-ID": make_msgid(domain="prakerja.local")}
    return _queue(session, "email", to, subject, body, now, own | thread_headers(headers or {}))


def send_sms(session: Session, *, to: str, body: str, now: dt.datetime) -> int:
    """Queue an SMS (its notification id); it is delivered by the `notify.deliver` job."""
    return _queue(session, "sms", to, "", body, now)


def _deliver_email(note: Notification) -> None:
    s = get_settings()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = s.smtp_sender, note.recipient, note.subject
    for name, value in (note.headers or {}).items():
        msg[name] = value
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


PURGE = "notify.purge_sent"
RETENTION = dt.timedelta(days=30)  # after sending; a notification never sent is kept
_log = structlog.get_logger("prakerja.notify")


def purge_sent(session: Session, *, now: dt.datetime) -> int:
    """Delete every notification sent more than RETENTION before `now` (one set-based DELETE);
    how many. Nothing reads a sent one again: its delivery job skips it if repeated."""
    result = session.execute(
        delete(Notification)
        .where(Notification.status == "sent", Notification.sent_at < now - RETENTION)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


@jobs.handler(PURGE)
def purge_sent_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Scheduled daily: purge relative to the time the job runs."""
    _log.info("notify_purge", deleted=purge_sent(session, now=now))


# Daily at 03:00 Jakarta time, with the identity purge.
jobs.every_day(PURGE, hour=3)
