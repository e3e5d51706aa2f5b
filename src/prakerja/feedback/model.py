"""Tables of the citizen-voice desk: messages, tickets, replies, incidents, routing, corrections.

A message is stored once per (channel, source_id). Bodies are stored as given (capped) and only
ever rendered escaped; `body_masked` is what anyone but the assigned agent sees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

CHANNELS = ("web", "email", "chat", "call", "social")
TICKET_STATUSES = ("new", "open", "waiting_partner", "resolved", "closed")
OPEN_STATUSES = ("new", "open", "waiting_partner")
BODY_CAP = 100_000  # characters kept of one message body; the rest is cut and flagged


class Ticket(Base):
    """One problem of one citizen (or one thread), with its owner, SLA clock and outcome."""

    __tablename__ = "feedback_ticket"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new','open','waiting_partner','resolved','closed')", name="status_known"
        ),
        Index("ix_feedback_ticket_queue", "status", "priority", "first_response_due"),
        Index("ix_feedback_ticket_record", "record_kind", "record_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300), default="")
    topic: Mapped[str] = mapped_column(String(32), default="other")
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 0 urgent, 1 high, 2 normal
    owner_team: Mapped[str] = mapped_column(String(40), default="contact_centre")
    partner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    region: Mapped[str | None] = mapped_column(String(5), nullable=True)
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    assigned_agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    linked_record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    record_kind: Mapped[str | None] = mapped_column(String(40), nullable=True)
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_response_due: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolve_due: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_ticket.id"), nullable=True
    )
    breaches: Mapped[str] = mapped_column(String(40), default="")  # "first,resolve" once alerted
    csat_token: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    csat_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Message(Base):
    """One inbound message from any channel, with its triage and links."""

    __tablename__ = "feedback_message"
    __table_args__ = (
        UniqueConstraint("channel", "source_id"),
        CheckConstraint("channel IN ('web','email','chat','call','social')", name="channel_known"),
        Index("ix_feedback_message_spike", "received_at", "topic"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[str] = mapped_column(String(250))
    thread_id: Mapped[str | None] = mapped_column(String(250), nullable=True, index=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_handle: Mapped[str] = mapped_column(String(200), default="")
    author_email: Mapped[str | None] = mapped_column(String(320), nullable=True, index=True)
    author_phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    body_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    body_masked: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="id")
    region: Mapped[str | None] = mapped_column(String(5), nullable=True)
    partner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    topic: Mapped[str | None] = mapped_column(String(32), nullable=True)
    topic_conf: Mapped[float | None] = mapped_column(Float, nullable=True)
    sentiment: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sentiment_conf: Mapped[float | None] = mapped_column(Float, nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    triage_model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    linked_record: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    group_key: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    attachment_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    attachment_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_ticket.id"), nullable=True, index=True
    )


class Reply(Base):
    """What the desk sent back, on which channel, by whom."""

    __tablename__ = "feedback_reply"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("feedback_ticket.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(250), nullable=True)
    notification_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    """A spike of one topic in one slice (region, channel or partner) over one hour."""

    __tablename__ = "feedback_incident"
    __table_args__ = (UniqueConstraint("topic", "dimension", "value", "window_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(32))
    dimension: Mapped[str] = mapped_column(String(10))  # all | region | channel | partner
    value: Mapped[str] = mapped_column(String(40), default="")
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    baseline_count: Mapped[int] = mapped_column(Integer)
    current_count: Mapped[int] = mapped_column(Integer)
    sample_message_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | resolved
    public_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    fix_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TriageCorrection(Base):
    """An agent's correction of the model's reading; becomes labelled training data."""

    __tablename__ = "feedback_triage_correction"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("feedback_message.id"), index=True)
    field: Mapped[str] = mapped_column(String(12))  # topic | sentiment | urgent
    old: Mapped[str | None] = mapped_column(String(32), nullable=True)
    new: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RoutingRule(Base):
    """Who owns a topic and how fast they must answer and fix."""

    __tablename__ = "feedback_routing_rule"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(32), unique=True)
    team: Mapped[str] = mapped_column(String(40))
    partner: Mapped[str | None] = mapped_column(String(40), nullable=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_hours: Mapped[int] = mapped_column(Integer)


class CannedReply(Base):
    """A reply template; placeholders such as {name} and {ticket} are filled when used."""

    __tablename__ = "feedback_canned_reply"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    topic: Mapped[str | None] = mapped_column(String(32), nullable=True)
    text_id: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)


def _register_encrypted() -> None:
    from prakerja.identity import vault

    vault.register("feedback_message", "attachment_enc")


_register_encrypted()
