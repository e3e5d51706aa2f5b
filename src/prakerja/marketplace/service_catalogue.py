"""The catalogue: platforms publish courses and sessions (idempotent upserts), staff assess
courses, citizens search what is on sale."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from prakerja.kit import audit
from prakerja.kit.db import new_id, table_of
from prakerja.marketplace import rules
from prakerja.marketplace.model import (
    PLATFORM,
    PROVIDER,
    BatchSeats,
    Course,
    CourseSession,
    Partner,
)

PUBLISHERS = ("approved", "active", "warned")  # platform states that may publish
_CONTENT = (
    "title",
    "category",
    "mode",
    "hours",
    "price",
    "syllabus",
    "has_pretest",
    "has_posttest",
    "capacity",
)


def _provider(session: Session, code: str) -> Partner:
    provider = session.scalar(select(Partner).where(Partner.code == code, Partner.kind == PROVIDER))
    if provider is None or provider.status not in PUBLISHERS:
        raise rules.BadCourse(f"provider {code!r} is not an approved provider")
    return provider


def publish_course(
    session: Session, *, platform: Partner, data: rules.CourseInput, now: dt.datetime
) -> tuple[Course, bool]:
    """Create or update the platform's course `external_ref`; returns (course, changed).

    Publishing the same content again changes nothing; a changed course goes back to assessment.
    """
    if platform.kind != PLATFORM or platform.status not in PUBLISHERS:
        raise rules.PartnerNotSelling("only an approved platform may publish courses")
    rules.check_course(data)
    provider = _provider(session, data.provider_code)
    course = session.scalar(
        select(Course).where(
            Course.platform_id == platform.id, Course.external_ref == data.external_ref
        )
    )
    content = {k: v for k, v in asdict(data).items() if k in _CONTENT}
    if course is None:
        course = Course(
            public_id=new_id(),
            platform_id=platform.id,
            provider_id=provider.id,
            external_ref=data.external_ref,
            seats_taken=0,
            status="submitted",
            created_at=now,
            updated_at=now,
            **content,
        )
        session.add(course)
        session.flush()
        return course, True
    if course.provider_id == provider.id and all(
        getattr(course, k) == v for k, v in content.items()
    ):
        return course, False
    most = session.scalar(
        select(func.max(BatchSeats.taken)).where(BatchSeats.course_id == course.id)
    )
    if data.capacity is not None and data.capacity < max(course.seats_taken, most or 0):
        raise rules.BadCourse("capacity is below the seats already sold (in a batch)")
    for key, value in content.items():
        setattr(course, key, value)
    course.provider_id, course.updated_at = provider.id, now
    course.status = "submitted"
    session.flush()
    return course, True


def assess_course(
    session: Session, *, course_id: int, approve: bool, actor: str, now: dt.datetime, note: str = ""
) -> Course:
    """An assessor's verdict on a submitted course (audited); repeating it changes nothing."""
    course = session.get(Course, course_id)
    if course is None:
        raise rules.CourseNotFound()
    target = "approved" if approve else "rejected"
    if course.status == target:
        return course
    if course.status != "submitted" and not (course.status == "approved" and not approve):
        raise rules.BadTransition(f"course {course.status} -> {target}")
    course.status, course.updated_at = target, now
    audit.record(
        session,
        actor=actor,
        action=f"course.{target}",
        target=f"course:{course.id}",
        data={"note": note, "title": course.title},
        now=now,
    )
    session.flush()
    return course


def add_session(
    session: Session,
    *,
    platform: Partner,
    course_public_id: str,
    external_ref: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    venue: str | None,
    now: dt.datetime,
    batch: str = "",
) -> tuple[CourseSession, bool]:
    """Create or move one session of the platform's course, in its batch ("" when the course
    runs one); returns (session row, changed). Not by a suspended platform. A session keeps
    its batch: its buyers were promised it."""
    rules.check_may_trade(platform.status)
    course = course_of_platform(session, platform, course_public_id)
    rules.check_session_times(starts_at, ends_at)
    if course.mode == "offline" and not (venue or "").strip():
        raise rules.BadCourse("an offline session needs a venue")
    row = session.scalar(
        select(CourseSession).where(
            CourseSession.course_id == course.id, CourseSession.external_ref == external_ref
        )
    )
    batch = batch.strip()
    if row is None:
        row = CourseSession(
            course_id=course.id,
            external_ref=external_ref,
            batch=batch,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=venue,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return row, True
    if row.batch != batch:
        raise rules.BadCourse("a session cannot move to another batch; add a new session")
    if (row.starts_at, row.ends_at, row.venue) == (starts_at, ends_at, venue):
        return row, False
    row.starts_at, row.ends_at, row.venue = starts_at, ends_at, venue
    session.flush()
    return row, True


def course_of_platform(session: Session, platform: Partner, public_id: str) -> Course:
    """The platform's own course (another partner's course is 'not found')."""
    course = session.scalar(
        select(Course).where(Course.public_id == public_id, Course.platform_id == platform.id)
    )
    if course is None:
        raise rules.CourseNotFound()
    return course


def take_seat(session: Session, course: Course, batch: str | None) -> None:
    """One seat of the course's capacity, in the order's batch (each batch seats `capacity`);
    CourseFull when none is left. Counted by one conditional write, so parallel buyers can
    never overbook."""
    if course.capacity is None:
        return  # no hot row for unlimited (self-paced) courses
    if batch is None:
        taken = session.execute(
            update(Course)
            .where(Course.id == course.id, Course.seats_taken < Course.capacity)
            .values(seats_taken=Course.seats_taken + 1)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    else:
        stmt = _take_in_batch(session.get_bind().dialect.name)
        params = {"course_id": course.id, "batch": batch, "capacity": course.capacity}
        taken = len(session.execute(stmt, params).all())
    if taken != 1:
        raise rules.CourseFull()


@cache
def _take_in_batch(dialect: str) -> Any:
    """INSERT the batch's first seat, or add one while below capacity (RETURNING a row only
    when a seat was taken); built once per dialect, as it runs on the purchase path."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = table_of(BatchSeats)
    stmt = insert(table).values(course_id=bindparam("course_id"), batch=bindparam("batch"), taken=1)
    return stmt.on_conflict_do_update(
        index_elements=["course_id", "batch"],
        set_={"taken": table.c.taken + 1},
        where=table.c.taken < bindparam("capacity"),
    ).returning(table.c.taken)


def release_seat(session: Session, course_id: int, batch: str | None) -> None:
    """Give back the seat an order took (a cancelled or refunded order)."""
    if batch is None:
        session.execute(
            update(Course)
            .where(Course.id == course_id, Course.capacity.is_not(None), Course.seats_taken > 0)
            .values(seats_taken=Course.seats_taken - 1)
            .execution_options(synchronize_session=False)
        )
        return
    session.execute(
        update(BatchSeats)
        .where(BatchSeats.course_id == course_id, BatchSeats.batch == batch, BatchSeats.taken > 0)
        .values(taken=BatchSeats.taken - 1)
        .execution_options(synchronize_session=False)
    )


def batch_starts(session: Session, course_id: int) -> dict[str, dt.datetime]:
    """Batch -> the start of its first session, for a course's sessions (empty: none)."""
    rows = session.execute(_BATCH_STARTS, {"course_id": course_id}).tuples().all()
    return dict(rows)


_BATCH_STARTS = (
    select(CourseSession.batch, func.min(CourseSession.starts_at))
    .where(CourseSession.course_id == bindparam("course_id"))
    .group_by(CourseSession.batch)
)


def sessions_of(session: Session, course_id: int) -> list[CourseSession]:
    return list(
        session.scalars(
            select(CourseSession)
            .where(CourseSession.course_id == course_id)
            .order_by(CourseSession.starts_at)
        )
    )


_PLATFORM, _PROVIDER = aliased(Partner, name="platform"), aliased(Partner, name="provider")
# Built once: making two aliases and this join costs about 2 ms of CPU per call, more than
# running the query. Callers add their own clauses to it (statements are immutable).
_ON_SALE = (
    select(Course)
    .join(_PLATFORM, _PLATFORM.id == Course.platform_id)
    .join(_PROVIDER, _PROVIDER.id == Course.provider_id)
    .where(
        Course.status == "approved",
        _PLATFORM.status.in_(rules.SELLING),
        _PROVIDER.status.in_(rules.SELLING),
    )
)
_ON_SALE_BY_ID = _ON_SALE.where(Course.public_id == bindparam("public_id"))


def on_sale() -> Select[Course]:
    """Approved courses whose platform and provider are both selling."""
    return _ON_SALE


def search(
    session: Session,
    *,
    q: str = "",
    category: str = "",
    mode: str = "",
    max_price: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[Course]:
    """On-sale courses matching the words of `q` in title or category, cheapest first."""
    stmt = on_sale()
    for word in q.lower().split()[:5]:
        like = f"%{word}%"
        stmt = stmt.where(
            or_(func.lower(Course.title).like(like), func.lower(Course.category).like(like))
        )
    if category:
        stmt = stmt.where(Course.category == category)
    if mode:
        stmt = stmt.where(Course.mode == mode)
    if max_price is not None:
        stmt = stmt.where(Course.price <= max_price)
    stmt = stmt.order_by(Course.price, Course.id).limit(min(limit, 100)).offset(max(offset, 0))
    return list(session.scalars(stmt))


def categories(session: Session) -> list[str]:
    sub = on_sale().subquery()
    return list(session.scalars(select(sub.c.category).distinct().order_by(sub.c.category)))


def course_on_sale(session: Session, public_id: str) -> Course:
    course = session.scalar(_ON_SALE_BY_ID, {"public_id": public_id})
    if course is None:
        raise rules.CourseNotFound()
    return course


def list_courses(session: Session, status: str | None = None) -> list[Course]:
    stmt = select(Course).order_by(Course.id.desc()).limit(200)
    if status:
        stmt = stmt.where(Course.status == status)
    return list(session.scalars(stmt))
