"""Session attendance: partners check and commit a recipient's redeem code, the recipient
passes the programme-hosted face check, then the partner reports the attendance.

Every partner call is idempotent (a repeat answers the same and changes nothing); a call made
before its prerequisite is a conflict naming the missing step.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.kit.counters import Allowance
from prakerja.learning import rules
from prakerja.learning.model import Attendance, RedeemCode
from prakerja.learning.service_enrolment import citizen_order, issue_redeem_codes, partner_order
from prakerja.marketplace.model import CONFIRMED, Course, CourseSession, Order
from prakerja.wallet.model_card import Card

_FACE_CHECKS = Allowance(Attendance.face_attempts, rules.FACE_ATTEMPTS)  # before the vendor


def _code_for_partner(
    session: Session, *, partner_id: int, session_id: int, code: str
) -> tuple[RedeemCode, Order, dt.datetime]:
    row = session.execute(
        select(RedeemCode, Order, Course, CourseSession.starts_at)
        .join(Order, Order.id == RedeemCode.order_id)
        .join(Course, Course.id == Order.course_id)
        .join(CourseSession, CourseSession.id == RedeemCode.session_id)
        .where(RedeemCode.code == code.strip().upper(), RedeemCode.session_id == session_id)
    ).first()
    if row is None or partner_id not in (row[1].platform_id, row[2].provider_id):
        raise rules.RedeemCodeNotFound()  # never reveal another partner's codes
    return row[0], row[1], row[3]


def check_redeem_code(
    session: Session, *, partner_id: int, session_id: int, code: str, now: dt.datetime
) -> RedeemCode:
    """A code the partner may commit now, or one already committed; changes nothing."""
    redeem, order, starts_at = _code_for_partner(
        session, partner_id=partner_id, session_id=session_id, code=code
    )
    if redeem.committed_at is None:
        if order.status != CONFIRMED:
            raise rules.EnrolmentNotActive()
        rules.check_window(*rules.redeem_window(starts_at), now)  # the session may have moved
    return redeem


def commit_redeem_code(
    session: Session, *, partner_id: int, session_id: int, code: str, now: dt.datetime
) -> RedeemCode:
    """Use the code once, inside its window; committing again answers the same."""
    redeem = check_redeem_code(
        session, partner_id=partner_id, session_id=session_id, code=code, now=now
    )
    if redeem.committed_at is None:
        session.execute(
            update(RedeemCode)
            .where(RedeemCode.id == redeem.id, RedeemCode.committed_at.is_(None))
            .values(committed_at=now, committed_by=partner_id)
            .execution_options(synchronize_session=False)
        )
        session.refresh(redeem)
    return redeem


def _attendance(session: Session, order_id: int, session_id: int, now: dt.datetime) -> Attendance:
    found = session.scalar(
        select(Attendance).where(
            Attendance.order_id == order_id, Attendance.session_id == session_id
        )
    )
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = Attendance(
                order_id=order_id,
                session_id=session_id,
                face_status="none",
                face_attempts=0,
                created_at=now,
            )
            session.add(row)
            session.flush()
            return row
    except IntegrityError:  # created concurrently
        return _attendance(session, order_id, session_id, now)


def _session_of(session: Session, order: Order, session_id: int) -> CourseSession:
    """The session, if it is one the order's buyer attends (of its course, and of its batch)."""
    row = session.get(CourseSession, session_id)
    if row is None or row.course_id != order.course_id:
        raise rules.EnrolmentNotFound("this session is not part of the course")
    if order.batch is not None and row.batch != order.batch:
        raise rules.EnrolmentNotFound("this session belongs to another batch of the course")
    return row


def face_check(
    session: Session,
    *,
    account_id: int,
    order_public_id: str,
    session_id: int,
    image: bytes,
    blink: bool,
    now: dt.datetime,
) -> Attendance:
    """The recipient's face check for a session, inside its redeem window, at most 5 attempts;
    a pass is kept (a later check changes nothing). The vendor being down costs no attempt."""
    from prakerja.registration.face import face_client

    order, _course = citizen_order(session, account_id, order_public_id)
    row_session = _session_of(session, order, session_id)
    if order.status != CONFIRMED:
        raise rules.EnrolmentNotActive()
    issue_redeem_codes(session, order_id=order.id, now=now)
    rules.check_window(*rules.redeem_window(row_session.starts_at), now)
    row = _attendance(session, order.id, session_id, now)
    if row.face_status == "pass":
        return row
    if row.face_attempts >= rules.FACE_ATTEMPTS:
        raise rules.FaceAttemptsExhausted()
    person_id = session.scalar(select(Card.person_id).where(Card.id == order.card_id))
    with session.begin_nested():  # no answer from the vendor gives the attempt back
        if not _FACE_CHECKS.take(session, row):
            raise rules.FaceAttemptsExhausted()  # parallel checks took the last ones
        result = face_client().check(f"person-{person_id}", image, blink)
        if result.status == "unavailable":
            raise rules.FaceUnavailable()
    row.face_status, row.face_reason = result.status, result.reason
    row.face_score = None if result.score is None else round(result.score * 1000)
    row.face_checked_at = now
    session.flush()
    return row


def report_attendance(
    session: Session,
    *,
    partner_id: int,
    order_public_id: str,
    session_id: int,
    method: str,
    attended_at: dt.datetime | None,
    now: dt.datetime,
) -> Attendance:
    """Count the recipient present: needs the committed code and a passed face check; a repeat
    with the same method answers the same, a different one is a conflict."""
    order, course = partner_order(session, partner_id, order_public_id)
    _session_of(session, order, session_id)
    rules.check_method(method, course.mode)
    row = session.scalar(
        select(Attendance).where(
            Attendance.order_id == order.id, Attendance.session_id == session_id
        )
    )
    if row is not None and row.reported_at is not None:
        if row.method != method:
            raise rules.AlreadyReportedDifferently(method=row.method)
        return row
    if order.status != CONFIRMED:
        raise rules.EnrolmentNotActive()
    redeem = session.scalar(
        select(RedeemCode).where(
            RedeemCode.order_id == order.id, RedeemCode.session_id == session_id
        )
    )
    if redeem is None or redeem.committed_at is None:
        raise rules.NotRedeemed()
    if row is None or row.face_status != "pass":
        raise rules.FaceCheckRequired()
    row.method, row.reported_at, row.reported_by = method, now, partner_id
    row.at = attended_at or redeem.committed_at
    session.flush()
    return row
