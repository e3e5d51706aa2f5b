"""Completion and certificates: the partner reports completion with pre/post scores, and the
programme issues its own signed certificate in the same transaction, so both show on the
citizen's learning page at once. The partner may then report its own certificate number/URL.
Repeats with the same values answer the same; different values are a conflict."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.kit.db import new_id, table_of
from prakerja.kit.errors import DomainError
from prakerja.learning import certificates, rules
from prakerja.learning.model import Attendance, Certificate, Completion
from prakerja.learning.service_enrolment import partner_order
from prakerja.marketplace.model import CONFIRMED, Course, CourseSession, Order, Partner
from prakerja.registration.model import Person
from prakerja.settings import get_settings
from prakerja.wallet.model_card import Card


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_completion(
    session: Session,
    *,
    order_id: int,
    pre_score: int,
    post_score: int,
    partner_id: int,
    now: dt.datetime,
) -> Completion:
    """Record the completion once (every session attended, scores 0-100) and issue the signed
    certificate with it: a batch of one, so one call and a batch follow the same rules."""
    order = session.get(Order, order_id)
    if order is None:
        raise rules.EnrolmentNotFound()
    report = Report(order.public_id, pre_score, post_score)
    (outcome,) = record_completions(session, partner_id=partner_id, reports=[report], now=now)
    if isinstance(outcome, DomainError):
        raise outcome
    return session.scalars(select(Completion).where(Completion.order_id == order_id)).one()


@dataclass(frozen=True)
class Report:
    """One completion report of a batch, as the partner sent it."""

    order_id: str  # the order's public id
    pre_score: int
    post_score: int


@dataclass(frozen=True)
class Recorded:
    """A report's answer: the completion (new or earlier) and its certificate."""

    order_id: str
    pre_score: int
    post_score: int
    completed_at: dt.datetime
    certificate_id: str
    issued_at: dt.datetime


class _Order(NamedTuple):
    id: int
    public_id: str
    status: str
    card_id: int
    course_id: int
    platform_id: int
    cohort: str | None  # the order's batch of sessions (None: every session of the course)


@dataclass(frozen=True)
class _Stored:
    """A completion as stored (its certificate missing only if the data were damaged)."""

    pre: int
    post: int
    completed_at: dt.datetime
    certificate_id: str | None
    issued_at: dt.datetime | None


@dataclass
class _Batch:
    """Everything the batch's rules need, loaded in a few set-based queries."""

    orders: dict[str, _Order] = field(default_factory=dict)  # public id -> order columns
    courses: dict[int, Course] = field(default_factory=dict)
    done: dict[int, _Stored] = field(default_factory=dict)  # order id -> completion
    # (course id, its batch) -> sessions
    sessions: dict[tuple[int, str], int] = field(default_factory=dict)
    attended: dict[int, int] = field(default_factory=dict)  # order id -> reported sessions
    people: dict[int, tuple[int, str]] = field(default_factory=dict)  # card -> (person, name)
    partners: dict[int, Partner] = field(default_factory=dict)
    new: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)


def record_completions(
    session: Session, *, partner_id: int, reports: Sequence[Report], now: dt.datetime
) -> list[Recorded | DomainError]:
    """Each report answered as `record_completion` would answer it alone, in order: a refused
    report (the error, returned) changes nothing. Set-based: a few queries load the batch, the
    new completions and certificates go in with one INSERT each inside one savepoint; only if a
    concurrent twin wins an order does it fall back to one savepoint per new report."""
    batch = _load(session, partner_id, reports)
    pending: list[Report | DomainError] = []
    for report in reports:
        try:
            pending.append(_decide(batch, partner_id, report, now))
        except DomainError as exc:
            pending.append(exc)
    _insert(session, batch)
    return [p if isinstance(p, DomainError) else _answer(batch, p) for p in pending]


# The batch's reads, built once (a single report per call pays for building them otherwise).
def _ids() -> Any:
    return bindparam("ids", expanding=True)


_ORDERS = select(
    Order.id,
    Order.public_id,
    Order.status,
    Order.card_id,
    Order.course_id,
    Order.platform_id,
    Order.batch,
).where(Order.public_id.in_(_ids()))
_COURSES = select(Course).where(Course.id.in_(_ids()))
_STORED = (
    select(
        Completion.order_id,
        Completion.pre_score,
        Completion.post_score,
        Completion.completed_at,
        Certificate.public_id,
        Certificate.issued_at,
    )
    .outerjoin(Certificate, Certificate.order_id == Completion.order_id)
    .where(Completion.order_id.in_(_ids()))
)
_SESSIONS = (  # per course and batch: an order attends its batch's sessions only
    select(CourseSession.course_id, CourseSession.batch, func.count())
    .where(CourseSession.course_id.in_(_ids()))
    .group_by(CourseSession.course_id, CourseSession.batch)
)
_ATTENDED = (
    select(Attendance.order_id, func.count())
    .where(Attendance.order_id.in_(_ids()), Attendance.reported_at.is_not(None))
    .group_by(Attendance.order_id)
)
_PEOPLE = (
    select(Card.id, Card.person_id, Person.full_name)
    .outerjoin(Person, Person.id == Card.person_id)
    .where(Card.id.in_(_ids()))
)
_PARTNERS = select(Partner).where(Partner.id.in_(_ids()))


def _load(session: Session, partner_id: int, reports: Sequence[Report]) -> _Batch:
    batch = _Batch()
    rows = session.execute(_ORDERS, {"ids": list({r.order_id for r in reports})})
    batch.orders = {row.public_id: _Order(*row) for row in rows}
    course_ids = list({o.course_id for o in batch.orders.values()})
    batch.courses = {c.id: c for c in session.scalars(_COURSES, {"ids": course_ids})}
    mine = [o for o in batch.orders.values() if _is_partners(batch, o, partner_id)]
    batch.done = _stored(session, [o.id for o in mine])
    todo = [o for o in mine if o.id not in batch.done and o.status == CONFIRMED]
    if todo:
        _load_new(session, batch, todo)
    return batch


def _is_partners(batch: _Batch, order: _Order, partner_id: int) -> bool:
    course = batch.courses.get(order.course_id)
    return course is not None and partner_id in (order.platform_id, course.provider_id)


def _stored(session: Session, order_ids: Sequence[int]) -> dict[int, _Stored]:
    if not order_ids:
        return {}
    rows = session.execute(_STORED, {"ids": list(order_ids)})
    return {r[0]: _Stored(*r[1:]) for r in rows}


def _load_new(session: Session, batch: _Batch, todo: Sequence[_Order]) -> None:
    course_ids = {o.course_id for o in todo}
    rows = session.execute(_SESSIONS, {"ids": list(course_ids)}).tuples()
    batch.sessions = {(course, cohort): n for course, cohort, n in rows}
    batch.attended = dict(session.execute(_ATTENDED, {"ids": [o.id for o in todo]}).tuples().all())
    people = session.execute(_PEOPLE, {"ids": list({o.card_id for o in todo})})
    batch.people = {card: (person, name or "") for card, person, name in people}
    courses = [batch.courses[c] for c in course_ids]
    partner_ids = {c.provider_id for c in courses} | {c.platform_id for c in courses}
    batch.partners = {p.id: p for p in session.scalars(_PARTNERS, {"ids": list(partner_ids)})}


def _decide(batch: _Batch, partner_id: int, report: Report, now: dt.datetime) -> Report:
    """Check one report against the batch as loaded (and the reports before it); a new
    completion is staged for the insert. Raises the rule that refuses it."""
    pre, post = rules.check_score(report.pre_score), rules.check_score(report.post_score)
    order = batch.orders.get(report.order_id)
    if order is None or not _is_partners(batch, order, partner_id):
        raise rules.EnrolmentNotFound()
    if order.id in batch.done:  # a repeat (maybe of an earlier report in this batch) is
        return report  # compared after the insert, when a concurrent twin is known too
    if order.status != CONFIRMED:
        raise rules.EnrolmentNotActive()
    sessions = sum(
        n
        for (course, cohort), n in batch.sessions.items()
        if course == order.course_id and order.cohort in (None, cohort)
    )
    rules.check_all_attended(sessions, batch.attended.get(order.id, 0) if sessions else 0)
    _stage(batch, order, partner_id, pre, post, now)
    return report


def _same_scores(done: _Stored, pre: int, post: int) -> None:
    if (done.pre, done.post) != (pre, post):
        raise rules.AlreadyReportedDifferently(pre_score=done.pre, post_score=done.post)


def _stage(
    batch: _Batch, order: _Order, partner_id: int, pre: int, post: int, now: dt.datetime
) -> None:
    course = batch.courses[order.course_id]
    person_id, name = batch.people.get(order.card_id, (None, ""))
    public_id = new_id()
    facts = _facts(
        public_id=public_id,
        order_public_id=order.public_id,
        name=name,
        course=course,
        partners=batch.partners,
        pre=pre,
        post=post,
        completed_at=now,
        now=now,
    )
    completion = {
        "order_id": order.id,
        "course_id": course.id,
        "person_id": person_id,
        "pre_score": pre,
        "post_score": post,
        "completed_at": now,
        "reported_by": partner_id,
    }
    cert = {
        "public_id": public_id,
        "order_id": order.id,
        "person_id": person_id,
        "course_id": course.id,
        "issued_at": now,
        **_signed(facts),
    }
    batch.new[order.id] = completion, cert
    batch.done[order.id] = _Stored(pre, post, now, public_id, now)


def _insert(session: Session, batch: _Batch) -> None:
    # In order id order, so two overlapping batches wait on each other instead of deadlocking.
    new = sorted(batch.new.items())
    if not new:
        return
    try:
        with session.begin_nested():
            session.execute(insert(table_of(Completion)), [c for _, (c, _) in new])
            session.execute(insert(table_of(Certificate)), [c for _, (_, c) in new])
    except IntegrityError:  # a concurrent twin won an order: find which, one by one
        for order_id, (completion, cert) in new:
            try:
                with session.begin_nested():
                    session.execute(insert(table_of(Completion)), [completion])
                    session.execute(insert(table_of(Certificate)), [cert])
            except IntegrityError:
                twin = _stored(session, [order_id]).get(order_id)
                if twin is None:
                    raise
                batch.done[order_id] = twin  # answered as a repeat of the twin's report


def _answer(batch: _Batch, report: Report) -> Recorded | DomainError:
    done = batch.done[batch.orders[report.order_id].id]
    try:
        _same_scores(done, report.pre_score, report.post_score)
    except DomainError as exc:
        return exc
    if done.certificate_id is None or done.issued_at is None:
        return rules.NotCompleted()
    return Recorded(
        report.order_id, done.pre, done.post, done.completed_at, done.certificate_id, done.issued_at
    )


def _facts(
    *,
    public_id: str,
    order_public_id: str,
    name: str,
    course: Course,
    partners: dict[int, Partner],
    pre: int,
    post: int,
    completed_at: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    base = get_settings().base_url
    provider, platform = partners[course.provider_id], partners[course.platform_id]
    return {
        "type": "PrakerjaCertificate",
        "version": 1,
        "certificate_id": public_id,
        "order_id": order_public_id,
        "recipient": {"name": name},
        "course": {
            "id": course.public_id,
            "title": course.title,
            "hours": course.hours,
            "mode": course.mode,
        },
        "provider": {"code": provider.code, "name": provider.name},
        "platform": {"code": platform.code, "name": platform.name},
        "scores": {"pre": pre, "post": post},
        "completed_at": _iso(completed_at),
        "issued_at": _iso(now),
        "verify_url": certificates.verify_url(base, public_id),
    }


def _signed(facts: dict[str, Any]) -> dict[str, str]:
    """The certificate's signed columns: canonical facts, key id, signature, badge."""
    data, kid, signature = certificates.sign_facts(facts)
    base = get_settings().base_url
    badge = certificates.sign_badge(
        certificates.unsigned_badge(facts, base), base, facts["issued_at"]
    )
    return {
        "facts_json": data.decode(),
        "key_id": kid,
        "signature": signature,
        "badge_json": badge.decode(),
    }


def report_certificate(
    session: Session,
    *,
    partner_id: int,
    order_public_id: str,
    number: str,
    url: str | None,
    now: dt.datetime,
) -> Certificate:
    """Attach the partner's own certificate number/URL to a completed course (once)."""
    order, _ = partner_order(session, partner_id, order_public_id)
    done = session.scalar(select(Completion).where(Completion.order_id == order.id))
    if done is None:
        raise rules.NotCompleted()
    if done.partner_certificate_no is None:
        done.partner_certificate_no, done.partner_certificate_url = number, url
        done.certificate_reported_at = now
        session.flush()
    elif (done.partner_certificate_no, done.partner_certificate_url) != (number, url):
        raise rules.AlreadyReportedDifferently(certificate_number=done.partner_certificate_no)
    return certificate_of_order(session, order.id)


def certificate_of_order(session: Session, order_id: int) -> Certificate:
    cert = session.scalar(select(Certificate).where(Certificate.order_id == order_id))
    if cert is None:
        raise rules.NotCompleted()
    return cert


def certificate_by_public_id(session: Session, public_id: str) -> Certificate:
    cert = session.scalar(select(Certificate).where(Certificate.public_id == public_id))
    if cert is None:
        raise rules.CertificateNotFound()
    return cert


def check_certificate(cert: Certificate) -> tuple[bool, dict[str, Any]]:
    """(signature and badge both valid, the facts) of a stored certificate."""
    valid = certificates.verify_certificate(
        cert.facts_json, cert.key_id, cert.signature
    ) and certificates.verify_badge(cert.badge_json)
    try:
        facts = json.loads(cert.facts_json)
    except ValueError:
        facts = {}
    return valid, facts if isinstance(facts, dict) else {}
