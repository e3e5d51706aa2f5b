"""Inbound email: a real SMTP listener (aiosmtpd) whose mail to the desk becomes messages.

Only the desk's addresses are accepted (others get 550 at RCPT). Each mail is stored once by its
Message-ID and joins the thread named by its References / In-Reply-To headers, or by the
"[#ticket]" token our replies carry in the subject.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

import structlog

from prakerja.feedback.intake_rules import Incoming, hashed_mail_id
from prakerja.feedback.service_intake import MessageRejected, ingest
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database

log = structlog.get_logger("prakerja.feedback.smtp")
DESK_ADDRESSES = frozenset({"pengaduan@prakerja.local", "halo@prakerja.local"})
MAX_MAIL_BYTES = 25 * 1024 * 1024
_MSGID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"<[^>]*>")


def _when(msg: EmailMessage, fallback: dt.datetime) -> dt.datetime:
    try:
        stamp = parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError, IndexError):
        return fallback
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def _body(msg: EmailMessage) -> str:
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        text = part.get_content()
        return _TAG.sub(" ", text) if part.get_content_subtype() == "html" else str(text)
    except (LookupError, ValueError, AttributeError):
        payload = msg.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def parse_mail(raw: bytes, *, now: dt.datetime) -> Incoming:
    """The message a raw RFC 5322 mail becomes; a mail without Message-ID is keyed by its hash."""
    msg: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)
    own = _MSGID.findall(str(msg.get("Message-ID", "")))
    source = own[0] if own else hashed_mail_id(raw)
    refs = _MSGID.findall(str(msg.get("References", ""))) + _MSGID.findall(
        str(msg.get("In-Reply-To", ""))
    )
    name, address = parseaddr(str(msg.get("From", "")))
    return Incoming(
        channel="email",
        source_id=source,
        received_at=_when(msg, now),
        body=_body(msg),
        subject=str(msg.get("Subject", "")),
        author_name=name,
        author_email=address or None,
        references=tuple(dict.fromkeys(r for r in refs if r != source)),
    )


class DeskHandler:
    """aiosmtpd handler: accept mail for the desk's addresses and store each as a message."""

    def __init__(
        self,
        db: Database,
        addresses: frozenset[str] = DESK_ADDRESSES,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.db, self.addresses, self.clock = db, {a.lower() for a in addresses}, clock

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() not in self.addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        try:
            created = await loop.run_in_executor(None, self.store, bytes(raw))
        except MessageRejected as exc:
            return f"554 5.6.0 {exc.detail[:200]}"
        except Exception as exc:  # the sender must retry later, not lose the mail
            log.warning("inbound_mail_failed", error=type(exc).__name__)
            return "451 4.3.0 Temporary failure, try again later"
        return "250 Message accepted" + ("" if created else " (already received)")

    def store(self, raw: bytes) -> bool:
        """Ingest one raw mail in its own transaction; True when it was new."""
        item = parse_mail(raw, now=self.clock())
        with self.db.transaction() as session:
            _, created = ingest(session, item, now=self.clock())
        return created


def start(
    db: Database,
    *,
    host: str = "127.0.0.1",
    port: int = 2525,
    addresses: frozenset[str] = DESK_ADDRESSES,
) -> Any:
    """Start the listener in a background thread; returns the aiosmtpd Controller (call .stop())."""
    from aiosmtpd.controller import Controller

    controller = Controller(
        DeskHandler(db, addresses), hostname=host, port=port, data_size_limit=MAX_MAIL_BYTES
    )
    controller.start()
    return controller
