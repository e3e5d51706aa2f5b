"""The person record: one per citizen account, filled step by step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

# Journey steps in order (see steps.py for the rules that pick the next one).
STEPS = ("identity", "profile", "ktp", "face", "phone", "statement", "test", "done")


class Person(Base):
    """A registrant. NIK, KK, mother's maiden name and the KTP photo are encrypted
    (identity.vault); `*_bidx` are keyed blind indexes for exact lookups and duplicate checks."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), unique=True)
    # identity (step 1)
    nik_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    nik_bidx: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    nik_masked: Mapped[str | None] = mapped_column(String(16), nullable=True)
    kk_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    kk_bidx: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str | None] = mapped_column(String(1), nullable=True)  # L | P
    province_code: Mapped[str | None] = mapped_column(String(2), nullable=True)
    regency_code: Mapped[str | None] = mapped_column(String(5), index=True, nullable=True)
    district_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    registry_status: Mapped[str] = mapped_column(String(12), default="none")
    # none | matched | mismatch | pending (registry unavailable; a job re-checks)
    registry_detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    registry_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # how many times identity was submitted (keys the registry re-check job)
    registry_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # registry-checked submissions on the Jakarta date below (at most 5 a day: no guessing a
    # KK or birth date through the registry)
    registry_attempts_today: Mapped[int] = mapped_column(Integer, default=0)
    registry_attempts_day: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # profile (step 2)
    full_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    mother_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    domicile_regency_code: Mapped[str | None] = mapped_column(String(5), nullable=True)
    village_type: Mapped[str | None] = mapped_column(String(5), nullable=True)  # rural | urban
    education: Mapped[str | None] = mapped_column(String(20), nullable=True)
    marital_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    dependants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    employment_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    occupation: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # occupation feeds the exclusion rule: civil_servant, military, police, state_official, ...
    disability: Mapped[bool] = mapped_column(Boolean, default=False)
    migrant_status: Mapped[str] = mapped_column(String(12), default="none")
    # none | prospective | former
    other_aid: Mapped[str] = mapped_column(String(40), default="")  # comma list: dtks,bsu,bpum
    desired_training: Mapped[str | None] = mapped_column(String(60), nullable=True)
    # later steps
    ktp_photo_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    ktp_content_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    face_status: Mapped[str] = mapped_column(String(12), default="none")  # none|pass|fail
    face_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    face_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Jakarta date the face_attempts count belongs to (at most 5 attempts a day)
    face_attempts_day: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    test_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # completion time of each step, by name (identity, profile, ktp, face, phone, statement, test)
    identity_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    profile_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ktp_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    face_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    phone_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    statement_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    test_done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
