"""Pure rules of intake: cleaning raw input into safe text, language, thread keys, ticket need."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from prakerja.feedback.model import BODY_CAP, CHANNELS

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EN = frozenset(
    {
        "the",
        "is",
        "are",
        "my",
        "i",
        "you",
        "not",
        "have",
        "has",
        "was",
        "please",
        "account",
        "money",
        "why",
        "when",
    }
)
_ID = frozenset(
    {
        "saya",
        "tidak",
        "sudah",
        "belum",
        "yang",
        "dan",
        "ini",
        "itu",
        "kak",
        "min",
        "tolong",
        "kenapa",
        "ga",
        "gak",
    }
)
TICKET_TOKEN = re.compile(r"\[#([0-9a-f]{32})\]")
HASHED_MAIL_ID = re.compile(r"<sha256\.[0-9a-f]{64}@inbound>")
NO_TICKET_TOPICS = frozenset({"praise_suggestion", "other"})


class BadRow(ValueError):
    """One input row cannot become a message; the reason is shown to whoever imported it."""


@dataclass(frozen=True)
class Incoming:
    """One message as a channel hands it over, before it is stored."""

    channel: str
    source_id: str
    received_at: dt.datetime
    body: str | bytes
    subject: str = ""
    author_name: str = ""
    author_handle: str = ""
    author_email: str | None = None
    author_phone: str | None = None
    account_id: int | None = None
    thread_id: str | None = None
    references: tuple[str, ...] = ()
    partner: str | None = None
    region: str | None = None
    attachment: bytes | None = None
    attachment_type: str | None = None


def safe_text(raw: str | bytes, cap: int) -> tuple[str, bool]:
    """(text, truncated): bytes decoded as UTF-8 with replacement, control characters (NUL
    included) replaced, cut to `cap` characters. Markup is kept as text; views escape it."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    text = _CONTROL.sub("\ufffd", text)
    return (text[:cap], True) if len(text) > cap else (text, False)


def _short(value: str | None, cap: int) -> str:
    return safe_text(value or "", cap)[0].replace("\n", " ").replace("\r", " ").strip()


def clean(item: Incoming) -> tuple[Incoming, bool]:
    """A checked copy with safe, capped fields, and whether the body was cut; BadRow if unusable."""
    if item.channel not in CHANNELS:
        raise BadRow(f"unknown channel {item.channel!r}")
    source = _short(item.source_id, 250)
    if not source:
        raise BadRow("missing source id")
    if not isinstance(item.received_at, dt.datetime) or item.received_at.tzinfo is None:
        raise BadRow("received_at must be a date-time with a time zone")
    body, cut = safe_text(item.body, BODY_CAP)
    if not body.strip() and not item.subject.strip():
        raise BadRow("empty message")
    email = _short(item.author_email, 320).lower() or None
    return Incoming(
        channel=item.channel,
        source_id=source,
        received_at=item.received_at,
        body=body,
        subject=_short(item.subject, 300),
        author_name=_short(item.author_name, 200),
        author_handle=_short(item.author_handle, 200),
        author_email=email,
        author_phone=_short(item.author_phone, 40) or None,
        account_id=item.account_id,
        thread_id=_short(item.thread_id, 250) or None,
        references=tuple(_short(r, 250) for r in item.references if r.strip()),
        partner=_short(item.partner, 40) or None,
        region=_short(item.region, 5) or None,
        attachment=item.attachment,
        attachment_type=item.attachment_type,
    ), cut


def language(text: str) -> str:
    """'en' when English function words outnumber Indonesian ones, else 'id'."""
    words = re.findall(r"[a-z]+", text[:2000].lower())
    en = sum(w in _EN for w in words)
    return "en" if en > sum(w in _ID for w in words) and en >= 2 else "id"


def triage_text(item: Incoming) -> str:
    """What the model reads: subject and the start of the body."""
    body = item.body if isinstance(item.body, str) else ""
    return f"{item.subject}\n{body[:4000]}" if item.subject else body[:4000]


def needs_ticket(channel: str, topic: str, sentiment: str, urgent: bool) -> bool:
    """Every private message opens a ticket; a public comment only if it is a problem."""
    if channel != "social" or urgent:
        return True
    return topic not in NO_TICKET_TOPICS and sentiment == "negative"


def ticket_token(subject: str) -> str | None:
    """The ticket public id quoted in a reply's subject ("[#...]"), if any."""
    match = TICKET_TOKEN.search(subject)
    return match.group(1) if match else None


def hashed_mail_id(raw: bytes) -> str:
    """The stand-in source id of a mail without a Message-ID (matches HASHED_MAIL_ID); it names
    no mail the sender knows, so it is never sent back as In-Reply-To or References."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@inbound>"
