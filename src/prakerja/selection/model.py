"""Tables of waves, their quotas, applications and manual reviews.

Partitioning: `application` is the one table that grows by millions per wave (6.7 million rows
in the largest real wave), and every bulk statement (screen, draw, announce, export) reads or
writes one wave at a time. Its primary key is therefore `(wave_id, person_id)` with `wave_id`
first, every unique index includes `wave_id` (the bulk ones lead with it), and on PostgreSQL the
table is `PARTITION BY LIST (wave_id)` (PostgreSQL requires the partition key in every primary key
and unique index). Each wave's rows live in their own partition, created with the wave: the
planner prunes to it, VACUUM and backups handle it separately, a settled wave can be detached and
archived whole, and the wave run replaces it in bulk (selection.bulk.rewrite_wave) rather than
updating millions of indexed rows in place. For the same reason there is no surrogate serial
key: `application_id` is derived from the key as `wave_id * 10**12 + person_id` (readable, unique
across waves, an integer for the jobs that carry it). `wave_quota` is keyed the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

WAVE_STATUSES = (
    "planned",
    "open",
    "closed",
    "screening",
    "drawn",
    "announced",
    "purchase_window",
    "settled",
)
APPLICATION_STATUSES = (
    "joined",
    "screened_out",
    "eligible",
    "selected",
    "not_selected",
    "withdrawn",
)
REVIEW_STATUSES = ("requested", "approved", "rejected")
APPLICATION_ID_BASE = 10**12


def application_id(wave_id: int, person_id: int) -> int:
    """The integer id of an application, derived from its key (see the module docstring)."""
    return wave_id * APPLICATION_ID_BASE + person_id


class Wave(Base):
    """One wave ("gelombang"); frozen once its seed commitment is published."""

    __tablename__ = "wave"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    policy_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("policy_version.id"), nullable=True
    )
    policy_code: Mapped[str] = mapped_column(String(40))
    total_quota: Mapped[int] = mapped_column(Integer)
    # weights source + values, minimum, capacity, priority quota, inclusion bonus, tickets
    quota_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    regions_open: Mapped[Any] = mapped_column(JSON, default="all")  # "all" or ["32.01", ...]
    seed_source: Mapped[str] = mapped_column(String(12), default="secret")  # secret | public
    public_randomness: Mapped[str | None] = mapped_column(String(200), nullable=True)
    seed_commitment: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seed_commitment_published_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )
    seed_secret_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    seed: Mapped[str | None] = mapped_column(String(64), nullable=True)  # revealed after close
    # HMAC key of the pseudonyms in the published pool (never published)
    pseudonym_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    pool_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    winners_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pool_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    winners: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_recovery: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id"), nullable=True)
    revoked_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    screened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WaveQuota(Base):
    """The places of one kabupaten/kota in one wave, and how many the draw filled."""

    __tablename__ = "wave_quota"

    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), primary_key=True)
    regency_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    quota: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)


class Application(Base):
    """One person in one wave. Keyed (wave_id, person_id): one application per person per wave."""

    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_wave_receipt", "wave_id", "receipt", unique=True),
        Index("ix_application_wave_status_rank", "wave_id", "status", "rank"),
        Index("ix_application_person", "person_id", "status"),
        # PostgreSQL keeps each wave in its own partition, so a national wave run can rewrite
        # its wave in bulk and swap it in (selection.bulk.rewrite_wave) instead of updating
        # millions of indexed rows one by one. SQLite ignores this.
        {"postgresql_partition_by": "LIST (wave_id)"},
    )

    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("person.id"), primary_key=True
    )
    regency_code: Mapped[str] = mapped_column(String(5))
    receipt: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(14), default="joined")
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # screening reason codes
    pseudonym: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)
    kk_pseudonym: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True)
    priority_tier: Mapped[int] = mapped_column(SmallInteger, default=0)
    inclusion_flags: Mapped[int] = mapped_column(SmallInteger, default=0)
    kk_prior: Mapped[int] = mapped_column(SmallInteger, default=0)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1 = first in draw order
    phase: Mapped[int] = mapped_column(SmallInteger, default=0)  # draw phase that selected it
    announced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ManualReview(Base):
    """A citizen's request for a manual review after repeated non-selection, and its outcome."""

    __tablename__ = "manual_review"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    non_selections: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="requested", index=True)
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")


def partition_name(wave_id: int) -> str:
    """The PostgreSQL partition of `application` that holds one wave's rows."""
    return f"application_w{int(wave_id)}"


@event.listens_for(Wave, "after_insert")
def _create_partition(_mapper: Any, connection: Connection, wave: Wave) -> None:
    """Every wave gets its partition on PostgreSQL in the transaction that creates the wave."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {partition_name(wave.id)} PARTITION OF application"
                f" FOR VALUES IN ({int(wave.id)})"
            )
        )
