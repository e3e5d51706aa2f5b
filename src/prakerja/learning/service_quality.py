"""Course quality for operators: rating, completion rate, learning gain (post - pre) and
complaints per course, rebuilt set-based (a handful of GROUP BY queries, one bulk insert);
providers ranked by a combined score and flagged when any rule fires."""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from prakerja.learning import rules
from prakerja.learning.model import Completion, CourseQuality, Review
from prakerja.marketplace.model import COMPLETED, CONFIRMED, REFUNDED, Course, Order, Partner

COUNTED = (CONFIRMED, COMPLETED, REFUNDED)  # enrolments that were ever paid for


def _grouped(session: Session, stmt: Any) -> dict[int, tuple[Any, ...]]:
    return {row[0]: tuple(row[1:]) for row in session.execute(stmt)}


def _complaints(session: Session) -> dict[int, int]:
    """Tickets linked to an order, per course (0 everywhere until feedback exists)."""
    try:
        feedback = importlib.import_module("prakerja.feedback.model")
    except ModuleNotFoundError:
        return {}
    ticket = feedback.Ticket
    stmt = (
        select(Order.course_id, func.count(ticket.id))
        .join(Order, Order.id == ticket.record_id)
        .where(ticket.record_kind == "marketplace.order")
        .group_by(Order.course_id)
    )
    return {course_id: int(n) for course_id, n in session.execute(stmt).tuples()}


def _ratio(numerator: int, denominator: int, scale: int) -> int | None:
    """Rounded integer numerator/denominator * scale (half up), None for an empty sample."""
    if denominator == 0:
        return None
    return (2 * numerator * scale + denominator) // (2 * denominator)


def refresh_quality(session: Session, *, now: dt.datetime) -> int:
    """Rebuild the rollup for every approved or once-sold course; returns how many rows."""
    enrolled = _grouped(
        session,
        select(Order.course_id, func.count())
        .where(Order.status.in_(COUNTED))
        .group_by(Order.course_id),
    )
    done = _grouped(
        session,
        select(
            Completion.course_id,
            func.count(),
            func.sum(Completion.post_score - Completion.pre_score),
        ).group_by(Completion.course_id),
    )
    rated = _grouped(
        session,
        select(Review.course_id, func.count(), func.sum(Review.stars)).group_by(Review.course_id),
    )
    complaints = _complaints(session)
    courses = session.execute(
        select(Course.id, Course.provider_id).where(
            (Course.status == "approved") | Course.id.in_(list(enrolled))
        )
    ).all()
    rows = []
    for course_id, provider_id in courses:
        n_enrolled = int(enrolled.get(course_id, (0,))[0])
        n_done, gain_sum = done.get(course_id, (0, 0))
        n_reviews, star_sum = rated.get(course_id, (0, 0))
        facts = rules.QualityFacts(
            enrolments=n_enrolled,
            completions=int(n_done),
            reviews=int(n_reviews),
            rating_x100=_ratio(int(star_sum or 0), int(n_reviews), 100),
            completion_permille=_ratio(int(n_done), n_enrolled, 1000),
            gain_x100=_ratio(int(gain_sum or 0), int(n_done), 100),
            complaints=complaints.get(course_id, 0),
        )
        rows.append(
            {
                "course_id": course_id,
                "provider_id": provider_id,
                "computed_at": now,
                "flags": ",".join(rules.quality_flags(facts)),
                **asdict(facts),
            }
        )
    session.execute(delete(CourseQuality))
    if rows:
        session.execute(insert(CourseQuality), rows)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class ProviderRank:
    provider_id: int
    name: str
    courses: int
    enrolments: int
    rating_x100: int | None
    completion_permille: int | None
    gain_x100: int | None
    complaints: int
    score: int
    flagged: bool


def course_board(session: Session) -> list[tuple[CourseQuality, str, str]]:
    """(rollup, course title, provider name), flagged courses first, then by rating."""
    stmt = (
        select(CourseQuality, Course.title, Partner.name)
        .join(Course, Course.id == CourseQuality.course_id)
        .join(Partner, Partner.id == CourseQuality.provider_id)
    )
    rows = [(q, t, p) for q, t, p in session.execute(stmt)]
    return sorted(rows, key=lambda r: (r[0].flags == "", r[0].rating_x100 or 0, r[1]))


def provider_ranking(session: Session) -> list[ProviderRank]:
    """Providers by descending score over all their courses' pooled numbers."""
    stmt = (
        select(
            CourseQuality.provider_id,
            Partner.name,
            func.count(),
            func.sum(CourseQuality.enrolments),
            func.sum(CourseQuality.completions),
            func.sum(CourseQuality.reviews),
            func.sum(CourseQuality.rating_x100 * CourseQuality.reviews),
            func.sum(CourseQuality.gain_x100 * CourseQuality.completions),
            func.sum(CourseQuality.complaints),
            func.max(func.length(CourseQuality.flags)),
        )
        .join(Partner, Partner.id == CourseQuality.provider_id)
        .group_by(CourseQuality.provider_id, Partner.name)
    )
    ranks = []
    for pid, name, n, enr, comp, revs, rating_w, gain_w, compl, flag_len in session.execute(stmt):
        enr, comp, revs, compl = int(enr or 0), int(comp or 0), int(revs or 0), int(compl or 0)
        rating = _ratio(int(rating_w or 0), revs, 1)
        completion = _ratio(comp, enr, 1000)
        gain = _ratio(int(gain_w or 0), comp, 1)
        ranks.append(
            ProviderRank(
                pid,
                name,
                int(n),
                enr,
                rating,
                completion,
                gain,
                compl,
                rules.provider_score(rating, completion, gain, compl, enr),
                bool(flag_len),
            )
        )
    return sorted(ranks, key=lambda r: (-r.score, r.name))


def public_ratings(session: Session, course_ids: list[int]) -> dict[int, tuple[int, int]]:
    """course id -> (average stars x 100, number of reviews) from the last rollup, for the
    catalogue; a course without a counted review is left out."""
    if not course_ids:
        return {}
    rows = session.execute(
        select(CourseQuality.course_id, CourseQuality.rating_x100, CourseQuality.reviews).where(
            CourseQuality.course_id.in_(course_ids),
            CourseQuality.reviews > 0,
            CourseQuality.rating_x100.is_not(None),
        )
    )
    return {int(c): (int(r or 0), int(n)) for c, r, n in rows}  # r is never NULL here


def public_rating(session: Session, course_id: int) -> tuple[int, int] | None:
    """The same for one course's page; None until its first review is counted."""
    return public_ratings(session, [course_id]).get(course_id)
