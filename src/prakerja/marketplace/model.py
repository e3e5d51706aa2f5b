"""Marketplace tables: partners and their credentials, curation history, courses, sessions,
orders with their SMS purchase codes, the partner request replay cache and webhook deliveries.

Learning hangs off `market_order.id` and `course_session.id` (ids only, no foreign keys across
contexts are needed from their side beyond these).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

PLATFORM, PROVIDER = "platform", "provider"
ACTIVE_CRED, RETIRING, REVOKED = "active", "retiring", "revoked"
AWAITING_CODE, PENDING, CONFIRMED = "awaiting_code", "pending", "confirmed"
CANCELLED, REFUNDED, COMPLETED, EXPIRED = "cancelled", "refunded", "completed", "expired"
OPEN_ORDER_STATUSES = (PENDING, CONFIRMED)
_OPEN_SQL = "status IN ('pending', 'confirmed')"


class Partner(Base):
    """A digital platform or a training provider, curated before it may sell."""

    __tablename__ = "partner"
    __table_args__ = (CheckConstraint("kind IN ('platform', 'provider')", name="kind_known"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # slug, e.g. "skillacademy"
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="applied")
    webhook_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PartnerStatusChange(Base):
    """One curation step; the history is append-only (the audit chain holds it too)."""

    __tablename__ = "partner_status_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PartnerCredential(Base):
    """An API key pair; the secret is vault-encrypted. Two usable at once allow rotation."""

    __tablename__ = "partner_credential"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(8), default=ACTIVE_CRED)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SeenSignature(Base):
    """Signatures already accepted, kept until they could no longer be fresh (replay guard)."""

    __tablename__ = "partner_seen_signature"

    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Course(Base):
    """A course a platform sells for a provider; buyable once approved and both are active."""

    __tablename__ = "course"
    __table_args__ = (
        UniqueConstraint("platform_id", "external_ref"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("mode IN ('webinar', 'self_paced', 'offline')", name="mode_known"),
        CheckConstraint("capacity IS NULL OR seats_taken <= capacity", name="within_capacity"),
        CheckConstraint("seats_taken >= 0", name="seats_not_negative"),
        Index("ix_course_catalogue", "status", "category", "price"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    external_ref: Mapped[str] = mapped_column(String(80))  # the platform's own course id
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60))
    mode: Mapped[str] = mapped_column(String(10))
    hours: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(BigInteger)  # whole rupiah
    syllabus: Mapped[str] = mapped_column(Text, default="")
    has_pretest: Mapped[bool] = mapped_column(Boolean, default=True)
    has_posttest: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="submitted")
    # submitted | approved | rejected | withdrawn
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CourseSession(Base):
    """One scheduled session of a course (learning's attendance hangs off its id)."""

    __tablename__ = "course_session"
    __table_args__ = (
        UniqueConstraint("course_id", "external_ref"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    external_ref: Mapped[str] = mapped_column(String(80))
    # The cohort ("batch") this session belongs to: a buyer joins one batch and attends its
    # sessions only, so a platform can open next month's batch without touching this one's.
    # "" is the course's only batch.
    batch: Mapped[str] = mapped_column(String(40), default="", server_default="")
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str | None] = mapped_column(String(200), nullable=True)  # offline only
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BatchSeats(Base):
    """Seats taken in one batch of a course with a capacity: the capacity holds per batch (a
    venue or a live class seats that many each time it runs). Orders without a batch count on
    `Course.seats_taken`."""

    __tablename__ = "course_batch_seats"
    __table_args__ = (CheckConstraint("taken >= 0", name="batch_seats_not_negative"),)

    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), primary_key=True)
    batch: Mapped[str] = mapped_column(String(40), primary_key=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class Order(Base):
    """One purchase of one course with one card. At most one open order per card (index)."""

    __tablename__ = "market_order"
    __table_args__ = (
        UniqueConstraint("card_id", "idempotency_key"),
        Index(
            "uq_market_order_open_per_card",
            "card_id",
            unique=True,
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        Index("ix_market_order_platform", "platform_id", "status"),
        Index(  # the daily scan for orders left unconfirmed reads only pending ones
            "ix_market_order_pending",
            "placed_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    batch: Mapped[str | None] = mapped_column(String(40), nullable=True)  # None: no sessions
    status: Mapped[str] = mapped_column(String(14), default=AWAITING_CODE)
    idempotency_key: Mapped[str] = mapped_column(String(80))
    hold_transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transfer.id"), nullable=True
    )
    refund_transfer_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transfer.id"), nullable=True
    )
    voucher_code: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    voucher_redeemed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    placed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PurchaseCode(Base):
    """The SMS code that authorises one order; stored as an HMAC, never in clear."""

    __tablename__ = "purchase_code"
    __table_args__ = (Index("ix_purchase_code_card", "card_id", "locked_until"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("card.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done | dead
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One event to one partner, delivered by the `marketplace.deliver_webhook` job."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # pending | delivered | skipped (no webhook URL)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
