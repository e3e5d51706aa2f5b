"""The basic-ability test: one row per attempt (questions, server deadline, answers, result)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

CLOSED_REASONS = ("submitted", "time_up")


class AbilityTestAttempt(Base):
    """An attempt. Open while `submitted_at` is None; closed ones never change again.

    `score` counts right answers out of len(question_ids); `pass_mark_percent` is the mark in
    force when the attempt started. A `time_up` attempt ignores its answers and failed.
    """

    __tablename__ = "ability_test_attempt"
    __table_args__ = (UniqueConstraint("person_id", "attempt_no"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigId)
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    pass_mark_percent: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_reason: Mapped[str | None] = mapped_column(String(12), nullable=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    @property
    def is_open(self) -> bool:
        return self.submitted_at is None
