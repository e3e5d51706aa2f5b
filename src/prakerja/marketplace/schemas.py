"""Request and response shapes of the citizen and partner JSON APIs."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from prakerja.marketplace import rules
from prakerja.marketplace.model import Course, CourseSession, Order


class CourseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_ref: str = Field(min_length=1, max_length=80, description="Your own course id")
    provider_code: str = Field(min_length=2, max_length=40)
    title: str = Field(min_length=3, max_length=200)
    category: str = Field(min_length=2, max_length=60)
    mode: Literal["webinar", "self_paced", "offline"]
    hours: int = Field(gt=0, le=1000)
    price: int = Field(gt=0, le=100_000_000, description="Whole rupiah")
    syllabus: str = Field(default="", max_length=20_000)
    has_pretest: bool = True
    has_posttest: bool = True
    capacity: int | None = Field(
        default=None, gt=0, le=1_000_000, description="Seats; required for webinar and offline"
    )

    def to_input(self) -> rules.CourseInput:
        return rules.CourseInput(**self.model_dump())


class CourseRead(BaseModel):
    id: str
    external_ref: str
    title: str
    category: str
    mode: str
    hours: int
    price: int
    syllabus: str
    has_pretest: bool
    has_posttest: bool
    capacity: int | None
    seats_taken: int
    status: str

    @classmethod
    def of(cls, c: Course) -> CourseRead:
        return cls(
            id=c.public_id,
            external_ref=c.external_ref,
            title=c.title,
            category=c.category,
            mode=c.mode,
            hours=c.hours,
            price=c.price,
            syllabus=c.syllabus,
            has_pretest=c.has_pretest,
            has_posttest=c.has_posttest,
            capacity=c.capacity,
            seats_taken=c.seats_taken,
            status=c.status,
        )


class PublishResult(BaseModel):
    course: CourseRead
    changed: bool


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_ref: str = Field(min_length=1, max_length=80)
    starts_at: dt.datetime
    ends_at: dt.datetime
    venue: str | None = Field(default=None, max_length=200)
    # the cohort this session belongs to; leave empty when the course runs one batch
    batch: str = Field(default="", max_length=40)


class SessionRead(BaseModel):
    id: int
    external_ref: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    venue: str | None
    batch: str = ""
    changed: bool = False

    @classmethod
    def of(cls, s: CourseSession, changed: bool = False) -> SessionRead:
        return cls(
            id=s.id,
            external_ref=s.external_ref,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            venue=s.venue,
            batch=s.batch,
            changed=changed,
        )


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=200)


class PartnerOrderRead(BaseModel):
    order_id: str
    status: str
    amount: int
    course_id: str
    course_ref: str
    voucher_code: str | None
    voucher_redeemed: bool
    placed_at: str | None
    batch: str | None = None  # the cohort the buyer joined (None: a course without sessions)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    course_id: str = Field(min_length=1, max_length=32)
    card_number: str = Field(min_length=16, max_length=24)
    idempotency_key: str = Field(min_length=8, max_length=80)
    # which batch to join when the course runs several (the course's sessions name them)
    batch: str | None = Field(default=None, max_length=40)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\s*\d{6}\s*$")


class OrderRead(BaseModel):
    id: str
    course_id: str
    amount: int
    status: str
    voucher_code: str | None
    batch: str | None = None

    @classmethod
    def of(cls, order: Order, course_public_id: str) -> OrderRead:
        show = order.status in ("confirmed", "completed")
        return cls(
            id=order.public_id,
            course_id=course_public_id,
            amount=order.amount,
            status=order.status,
            voucher_code=order.voucher_code if show else None,
            batch=order.batch,
        )
