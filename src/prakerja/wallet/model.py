"""Ledger tables: accounts, transfers (with idempotency keys) and append-only entries."""

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
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

PENDING, POSTED, VOIDED = "pending", "posted", "voided"


class LedgerAccount(Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance >= 0", name="no_negative"),
        CheckConstraint(
            "held >= 0 AND (allow_negative OR balance - held >= 0)", name="held_covered"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)  # e.g. budget, card:42
    kind: Mapped[str] = mapped_column(String(24))  # budget|treasury|recipient|platform|...
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Transfer(Base):
    __tablename__ = "ledger_transfer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # issue|purchase|refund|sweep|reversal|...
    from_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    to_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))  # pending|posted|voided
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfer.id"), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (CheckConstraint("amount > 0", name="positive_amount"),)


class Entry(Base):
    """One leg of a posted transfer. Never updated, never deleted."""

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfer.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # signed, see the package docstring
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
