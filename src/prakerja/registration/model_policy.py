"""Tables for versioned programme policy and the imported exclusion/priority lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime

POLICY_STATUSES = ("draft", "published", "retired")


class PolicyVersion(Base):
    """One version of the rules. Drafts may change; a published version never does."""

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. "2023.1"
    scheme: Mapped[str] = mapped_column(String(20))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))


class ListImport(Base):
    """One uploaded list file and what became of its rows (errors capped, counts exact)."""

    __tablename__ = "list_import"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(120))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_existing: Mapped[int] = mapped_column(Integer, default=0)  # valid, already on the list
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class ListedPerson(Base):
    """A NIK (by blind index) on one list from one source; the raw NIK is never stored here."""

    __tablename__ = "listed_person"
    __table_args__ = (
        UniqueConstraint("list_kind", "nik_bidx", "source"),
        Index("ix_listed_person_kind_kk", "list_kind", "kk_bidx"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_kind: Mapped[str] = mapped_column(String(20))
    # exclusion | priority | student | blacklist | prior_recipient | other_aid
    nik_bidx: Mapped[str] = mapped_column(String(64), index=True)
    kk_bidx: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(200), default="")
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("list_import.id"), index=True, nullable=True
    )
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PolicyDiffRun(Base):
    """One diff preview of a version against the policy current when it ran. A job computes it
    (`registration.policy_diff`): over everyone registered it can take minutes at national size,
    longer than a web request may. `report` holds the counts and samples (masked NIKs only) and
    what it was computed from, so a page can tell when it is out of date."""

    __tablename__ = "policy_diff_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"), index=True)
    status: Mapped[str] = mapped_column(String(8))  # queued | done | failed
    job_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # the job computing it
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ListUpload(Base):
    """A list file too large to import within the upload's request, kept here (not on one
    web node's disk, so any worker can take it) in `ListUploadPart`s until the job
    `registration.import_list` imports it; then its parts are deleted and `import_id` names
    the import and its report."""

    __tablename__ = "list_upload"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(120))
    file_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8))  # queued | done | failed
    import_id: Mapped[int | None] = mapped_column(ForeignKey("list_import.id"), nullable=True)
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)  # English msgid
    job_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ListUploadPart(Base):
    """One piece of a queued upload's file, in order of `seq`: a file of up to 200 MB is
    written and read a piece at a time, never held whole by a web process or a worker."""

    __tablename__ = "list_upload_part"

    upload_id: Mapped[int] = mapped_column(
        ForeignKey("list_upload.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
