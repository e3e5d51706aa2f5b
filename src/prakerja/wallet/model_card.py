"""The `card` table: one training card per recipient, for life, with its deadlines.

A card is the recipient side of the ledger: its money lives in ledger account `card:<id>`.
Deadlines are Jakarta calendar dates (the programme's calendar); instants are UTC.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

ACTIVE, REVOKED, CLOSED = "active", "revoked", "closed"
CARD_STATUSES = (ACTIVE, REVOKED, CLOSED)


class Card(Base):
    """A recipient's card. `person_id` is unique: a person gets at most one card ever."""

    __tablename__ = "card"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'revoked', 'closed')", name="status_known"),
        CheckConstraint("length(number) = 16", name="number_16_digits"),
        # The deadline scans read active cards by date.
        Index("ix_card_scan_purchase", "status", "first_purchase_deadline"),
        Index("ix_card_scan_reminder", "status", "reminder_on"),
        Index("ix_card_scan_spend", "status", "spend_rest_deadline"),
        Index("ix_card_wave", "wave_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    wave_id: Mapped[int] = mapped_column(BigInteger)
    application_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    policy_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("policy_version.id"), nullable=True
    )
    # Set in the same transaction that creates the card (the account code needs the card id).
    ledger_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_account.id"), unique=True, nullable=True
    )
    status: Mapped[str] = mapped_column(String(8), default=ACTIVE)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    first_purchase_deadline: Mapped[dt.date] = mapped_column(Date)
    reminder_on: Mapped[dt.date] = mapped_column(Date)  # Jakarta date the SMS reminder is due
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_purchase_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_course_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    spend_rest_deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    swept_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
