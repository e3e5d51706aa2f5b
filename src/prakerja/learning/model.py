"""Learning tables: session redeem codes, attendance, completion, certificates, reviews and the
course quality rollup. Rows hang off marketplace ids (`market_order.id`, `course_session.id`,
`course.id`); an enrolment is a confirmed order.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime


class RedeemCode(Base):
    """The code a recipient gives the platform for one session; valid one hour either side of
    the session's start; committed once."""

    __tablename__ = "learning_redeem_code"
    __table_args__ = (UniqueConstraint("order_id", "session_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("course_session.id"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    valid_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    committed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    committed_by: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Attendance(Base):
    """One recipient at one session: the programme-hosted face check, then the partner's
    report (`reported_at`) which counts it as attended."""

    __tablename__ = "learning_attendance"
    __table_args__ = (
        UniqueConstraint("order_id", "session_id"),
        CheckConstraint("method IS NULL OR method IN ('face', 'qr')", name="method_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("course_session.id"), index=True)
    method: Mapped[str | None] = mapped_column(String(4), nullable=True)
    face_status: Mapped[str] = mapped_column(String(12), default="none")  # none | pass | fail
    face_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    face_score: Mapped[int | None] = mapped_column(Integer, nullable=True)  # per mille
    face_attempts: Mapped[int] = mapped_column(Integer, default=0)
    face_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)  # attended at
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("partner.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Completion(Base):
    """The partner's report that a recipient finished the course, with test scores (0-100)."""

    __tablename__ = "learning_completion"
    __table_args__ = (
        CheckConstraint("pre_score BETWEEN 0 AND 100", name="pre_in_range"),
        CheckConstraint("post_score BETWEEN 0 AND 100", name="post_in_range"),
        Index("ix_learning_completion_course", "course_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    pre_score: Mapped[int] = mapped_column(Integer)
    post_score: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reported_by: Mapped[int] = mapped_column(ForeignKey("partner.id"))
    partner_certificate_no: Mapped[str | None] = mapped_column(String(80), nullable=True)
    partner_certificate_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    certificate_reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Certificate(Base):
    """The programme's signed certificate: canonical facts + Ed25519 signature, and the same
    facts as an Open Badges 3.0 credential. The PDF is regenerated from the facts on demand."""

    __tablename__ = "learning_certificate"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    facts_json: Mapped[str] = mapped_column(Text)  # canonical JSON, the exact signed bytes
    key_id: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(100))  # base64url Ed25519 over facts_json
    badge_json: Mapped[str] = mapped_column(Text)  # canonical (JCS) Open Badges credential


class Review(Base):
    """The recipient's mandatory rating and review of a finished course (once per order)."""

    __tablename__ = "learning_review"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars_1_to_5"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_order.id"), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    stars: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CourseQuality(Base):
    """Operators' rollup per course, rebuilt set-based by `refresh_quality` (ratios in per
    mille, averages in hundredths, so no floats are stored)."""

    __tablename__ = "learning_course_quality"

    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    enrolments: Mapped[int] = mapped_column(Integer, default=0)
    completions: Mapped[int] = mapped_column(Integer, default=0)
    reviews: Mapped[int] = mapped_column(Integer, default=0)
    rating_x100: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_permille: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gain_x100: Mapped[int | None] = mapped_column(Integer, nullable=True)  # mean post - pre
    complaints: Mapped[int] = mapped_column(Integer, default=0)
    flags: Mapped[str] = mapped_column(String(120), default="")  # comma list of rule names
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
