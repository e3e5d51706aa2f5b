"""Learning API shapes: partner reports in, citizen enrolments and verification results out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

BATCH_MAX = 500  # completion reports per batch call


class RedeemCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=12, description="The code the recipient gave you")


class RedeemCodeRead(BaseModel):
    code: str
    session_id: int
    order_id: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    status: Literal["open", "committed"]
    committed_at: dt.datetime | None = None


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=32)
    session_id: int = Field(ge=1, le=2**63 - 1)
    method: Literal["face", "qr"] = Field(description="face (online) or qr (offline)")
    attended_at: dt.datetime | None = None


class AttendanceRead(BaseModel):
    order_id: str
    session_id: int
    method: str | None
    attended_at: dt.datetime | None
    reported_at: dt.datetime | None
    face_status: str


class CompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=32)
    pre_score: int = Field(ge=0, le=100, strict=True)
    post_score: int = Field(ge=0, le=100, strict=True)


class CertificateRef(BaseModel):
    certificate_id: str
    verify_url: str
    issued_at: dt.datetime


class CompletionRead(BaseModel):
    order_id: str
    pre_score: int
    post_score: int
    completed_at: dt.datetime
    certificate: CertificateRef


# Each report is checked on its own (a malformed one is that item's 422, not the batch's), so the
# body takes any JSON value per item; the documented schema is CompletionIn's.
ReportItem = Annotated[Any, WithJsonSchema(CompletionIn.model_json_schema())]


class CompletionBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[ReportItem] = Field(
        min_length=1, max_length=BATCH_MAX, description=f"1 to {BATCH_MAX} CompletionIn reports"
    )


class ItemProblem(BaseModel):
    """RFC 9457 problem details for one refused report of a batch (nothing changed for it)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="/problems/<code>")
    title: str
    status: int = Field(description="The status this report alone would have got")
    detail: str
    code: str
    order_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="What was invalid (422 only)"
    )


class CompletionBatchRead(BaseModel):
    results: list[CompletionRead | ItemProblem] = Field(
        description="One per report, in the order sent: the completion (as the single call "
        "answers it) or the problem that refused it"
    )
    accepted: int = Field(description="Results that are completions (new or repeated)")
    refused: int = Field(description="Results that are problems")


class PartnerCertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=32)
    certificate_number: str = Field(min_length=1, max_length=80)
    certificate_url: str | None = Field(default=None, max_length=300, pattern=r"^https?://")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=32)
    stars: int = Field(ge=1, le=5, strict=True)
    text: str = Field(min_length=10, max_length=2000)


class ReviewRead(BaseModel):
    order_id: str
    stars: int
    text: str
    created_at: dt.datetime


class SessionStatus(BaseModel):
    session_id: int
    starts_at: dt.datetime
    redeem_code: str | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    redeemed: bool
    face_status: str
    attended: bool


class EnrolmentRead(BaseModel):
    order_id: str
    course_id: str
    course_title: str
    provider: str
    progress_percent: int
    next_step: Literal["attend", "review", "done"]
    sessions: list[SessionStatus]
    completed_at: dt.datetime | None = None
    pre_score: int | None = None
    post_score: int | None = None
    certificate: CertificateRef | None = None
    review: ReviewRead | None = None


class VerificationRead(BaseModel):
    certificate_id: str
    valid: bool
    course: str | None = None
    provider: str | None = None
    completed_on: str | None = None
    recipient: str | None = Field(default=None, description="Masked name")
    key_id: str | None = None
