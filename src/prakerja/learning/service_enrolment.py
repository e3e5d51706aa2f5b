"""Enrolments (confirmed orders) as learning sees them: lookups for partners and citizens, the
per-session redeem codes, and the citizen's view of progress, completion and certificate."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.learning import rules
from prakerja.learning.model import Attendance, Certificate, Completion, RedeemCode, Review
from prakerja.marketplace.model import (
    COMPLETED,
    CONFIRMED,
    PENDING,
    Course,
    CourseSession,
    Order,
    Partner,
)
from prakerja.wallet import service_card

ENROLLED = (CONFIRMED, COMPLETED)
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def partner_order(session: Session, partner_id: int, order_public_id: str) -> tuple[Order, Course]:
    """An order sold by the partner (platform) or taught by it (provider); else not found."""
    row = session.execute(
        select(Order, Course)
        .join(Course, Course.id == Order.course_id)
        .where(Order.public_id == order_public_id)
    ).first()
    if row is None or partner_id not in (row[0].platform_id, row[1].provider_id):
        raise rules.EnrolmentNotFound()
    return row[0], row[1]


def citizen_order(session: Session, account_id: int, order_public_id: str) -> tuple[Order, Course]:
    """The citizen's own enrolment; anyone else's is 'not found'."""
    card = service_card.card_for_account(session, account_id)
    row = session.execute(
        select(Order, Course)
        .join(Course, Course.id == Order.course_id)
        .where(Order.public_id == order_public_id)
    ).first()
    if row is None or card is None or row[0].card_id != card.id or row[0].status not in ENROLLED:
        raise rules.EnrolmentNotFound()
    return row[0], row[1]


def has_enrolment(session: Session, card_id: int) -> bool:
    """True once the card has a confirmed (or completed) order: the learning page has something
    to show."""
    return bool(
        session.scalar(select(exists().where(Order.card_id == card_id, Order.status.in_(ENROLLED))))
    )


def course_under_way(session: Session, card_id: int) -> tuple[str, str] | None:
    """(step, course title) of the card's newest course still asking something of the citizen:
    'awaiting' the platform's confirmation, 'attend' it, or 'review' it once the partner has
    reported it completed (the order itself completes only with the review); None when every
    course is reviewed (or none was bought). Reads only, for the dashboard."""
    row = session.execute(
        select(
            Order.status,
            Course.title,
            exists().where(Completion.order_id == Order.id),
            exists().where(Review.order_id == Order.id),
        )
        .join(Course, Course.id == Order.course_id)
        .where(Order.card_id == card_id, Order.status.in_((PENDING, *ENROLLED)))
        .order_by(Order.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    status, title, completed, reviewed = row
    if reviewed or status == COMPLETED:
        return None
    if completed:
        return ("review", title)
    return ("awaiting" if status == PENDING else "attend", title)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def issue_redeem_codes(session: Session, *, order_id: int, now: dt.datetime) -> list[RedeemCode]:
    """One code per session of a confirmed order's course, created once; later-added sessions
    get theirs on the next call. Safe to call any number of times, concurrently too.

    Issued lazily by every reader of codes (the citizen's courses page and API, the face check)
    rather than when the platform confirms: a code is of use only once the citizen has read it,
    and each read also follows moved sessions. A pending order (SMS code given, platform not
    yet confirmed) gets none, since the platform may still refuse it."""
    order = session.get(Order, order_id)
    if order is None or order.status != CONFIRMED:
        return list(session.scalars(select(RedeemCode).where(RedeemCode.order_id == order_id)))
    have = {
        c.session_id: c
        for c in session.scalars(select(RedeemCode).where(RedeemCode.order_id == order_id))
    }
    for row in sessions_of_order(session, order):
        start, until = rules.redeem_window(row.starts_at)
        if row.id in have:
            _follow_move(have[row.id], start, until)
            continue
        try:
            with session.begin_nested():
                session.add(
                    RedeemCode(
                        order_id=order_id,
                        session_id=row.id,
                        code=_new_code(),
                        valid_from=start,
                        valid_until=until,
                        created_at=now,
                    )
                )
                session.flush()
        except IntegrityError:
            continue  # a concurrent caller created it (or a rare code clash: next call retries)
    return list(session.scalars(select(RedeemCode).where(RedeemCode.order_id == order_id)))


def _follow_move(code: RedeemCode, start: dt.datetime, until: dt.datetime) -> None:
    """A moved session moves its open code's window (a committed code keeps its history)."""
    if code.committed_at is None and (code.valid_from, code.valid_until) != (start, until):
        code.valid_from, code.valid_until = start, until


def sessions_of_order(session: Session, order: Order) -> list[CourseSession]:
    """The sessions the buyer attends: those of the batch the order joined (every session of
    the course for an order without a batch)."""
    stmt = select(CourseSession).where(CourseSession.course_id == order.course_id)
    if order.batch is not None:
        stmt = stmt.where(CourseSession.batch == order.batch)
    return list(session.scalars(stmt.order_by(CourseSession.starts_at)))


@dataclass
class SessionView:
    row: CourseSession
    code: RedeemCode | None
    attendance: Attendance | None
    window_open: bool


@dataclass
class Enrolment:
    """Everything the citizen's learning page shows about one course."""

    order: Order
    course: Course
    provider: str
    sessions: list[SessionView] = field(default_factory=list)
    completion: Completion | None = None
    certificate: Certificate | None = None
    review: Review | None = None

    @property
    def attended(self) -> int:
        return sum(1 for s in self.sessions if s.attendance and s.attendance.reported_at)

    @property
    def progress(self) -> int:
        done = self.completion is not None
        return rules.progress_percent(len(self.sessions), self.attended, done)

    @property
    def next_step(self) -> str:
        if self.completion is None:
            return "attend"
        return "review" if self.review is None else "done"


_Row = TypeVar("_Row", Completion, Certificate, Review)


def _by_order(session: Session, model: type[_Row], order_ids: list[int]) -> dict[int, _Row]:
    """Rows of a learning table keyed by order (one query for all the citizen's orders)."""
    rows = session.scalars(select(model).where(model.order_id.in_(order_ids)))
    return {r.order_id: r for r in rows}


def enrolments(session: Session, *, account_id: int, now: dt.datetime) -> list[Enrolment]:
    """The citizen's enrolments, newest first, with redeem codes issued for every session."""
    card = service_card.card_for_account(session, account_id)
    if card is None:
        return []
    rows = session.execute(
        select(Order, Course, Partner.name)
        .join(Course, Course.id == Order.course_id)
        .join(Partner, Partner.id == Course.provider_id)
        .where(Order.card_id == card.id, Order.status.in_(ENROLLED))
        .order_by(Order.id.desc())
    ).all()
    ids = [order.id for order, _, _ in rows]
    completions = _by_order(session, Completion, ids)
    certs = _by_order(session, Certificate, ids)
    reviews = _by_order(session, Review, ids)
    result = []
    for order, course, provider in rows:
        codes = {c.session_id: c for c in issue_redeem_codes(session, order_id=order.id, now=now)}
        seen = {
            a.session_id: a
            for a in session.scalars(select(Attendance).where(Attendance.order_id == order.id))
        }
        views = [
            SessionView(
                s,
                codes.get(s.id),
                seen.get(s.id),
                s.id in codes
                and rules.in_window(codes[s.id].valid_from, codes[s.id].valid_until, now),
            )
            for s in sessions_of_order(session, order)
        ]
        result.append(
            Enrolment(
                order,
                course,
                provider,
                views,
                completions.get(order.id),
                certs.get(order.id),
                reviews.get(order.id),
            )
        )
    return result
