"""Completion and certificates: the partner reports completion with pre/post scores, and the
programme issues its own signed certificate in the same transaction, so both show on the
citizen's learning page at once. The partner may then report its own certificate number/URL.
Repeats with the same values answer the same; different values are a conflict."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.kit.db import new_id
from prakerja.learning import certificates, rules
from prakerja.learning.model import Attendance, Certificate, Completion
from prakerja.learning.service_enrolment import partner_order
from prakerja.marketplace.model import CONFIRMED, Course, CourseSession, Order, Partner
from prakerja.registration.model import Person
from prakerja.settings import get_settings
from prakerja.wallet.model_card import Card


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same(done: Completion, pre: int, post: int) -> Completion:
    if (done.pre_score, done.post_score) != (pre, post):
        raise rules.AlreadyReportedDifferently(pre_score=done.pre_score,
                                               post_score=done.post_score)
    return done


def _check_attended(session: Session, order: Order) -> None:
    sessions = session.scalar(select(func.count()).select_from(CourseSession)
                              .where(CourseSession.course_id == order.course_id)) or 0
    attended = 0
    if sessions:
        attended = session.scalar(select(func.count()).select_from(Attendance).where(
            Attendance.order_id == order.id, Attendance.reported_at.is_not(None))) or 0
    rules.check_all_attended(sessions, attended)


def record_completion(session: Session, *, order_id: int, pre_score: int, post_score: int,
                      partner_id: int, now: dt.datetime) -> Completion:
    """Record the completion once (every session attended, scores 0-100) and issue the signed
    certificate with it."""
    pre, post = rules.check_score(pre_score), rules.check_score(post_score)
    order = session.get(Order, order_id)
    course = None if order is None else session.get(Course, order.course_id)
    if order is None or course is None or partner_id not in (order.platform_id,
                                                              course.provider_id):
        raise rules.EnrolmentNotFound()
    done = session.scalar(select(Completion).where(Completion.order_id == order_id))
    if done is not None:
        return _same(done, pre, post)
    if order.status != CONFIRMED:
        raise rules.EnrolmentNotActive()
    _check_attended(session, order)
    person_id = session.scalar(select(Card.person_id).where(Card.id == order.card_id))
    completion = Completion(order_id=order.id, course_id=course.id, person_id=person_id,
                            pre_score=pre, post_score=post, completed_at=now,
                            reported_by=partner_id)
    try:
        with session.begin_nested():
            session.add(completion)
            session.flush()
            issue_certificate(session, order=order, course=course, completion=completion, now=now)
    except IntegrityError:  # a concurrent twin won; answer as a repeat
        done = session.scalar(select(Completion).where(Completion.order_id == order_id))
        if done is None:
            raise
        return _same(done, pre, post)
    return completion


def facts_for(session: Session, *, order: Order, course: Course, completion: Completion,
              public_id: str, now: dt.datetime) -> dict[str, Any]:
    """The certificate's facts (what is signed)."""
    partners = {p.id: p for p in session.scalars(
        select(Partner).where(Partner.id.in_((course.provider_id, course.platform_id))))}
    name = session.scalar(select(Person.full_name).where(Person.id == completion.person_id))
    base = get_settings().base_url
    provider, platform = partners[course.provider_id], partners[course.platform_id]
    return {"type": "PrakerjaCertificate", "version": 1, "certificate_id": public_id,
            "order_id": order.public_id, "recipient": {"name": name or ""},
            "course": {"id": course.public_id, "title": course.title, "hours": course.hours,
                       "mode": course.mode},
            "provider": {"code": provider.code, "name": provider.name},
            "platform": {"code": platform.code, "name": platform.name},
            "scores": {"pre": completion.pre_score, "post": completion.post_score},
            "completed_at": _iso(completion.completed_at), "issued_at": _iso(now),
            "verify_url": certificates.verify_url(base, public_id)}


def issue_certificate(session: Session, *, order: Order, course: Course, completion: Completion,
                      now: dt.datetime) -> Certificate:
    """Sign the facts and the Open Badges credential; one certificate per order."""
    public_id = new_id()
    facts = facts_for(session, order=order, course=course, completion=completion,
                      public_id=public_id, now=now)
    data, kid, signature = certificates.sign_facts(facts)
    badge = certificates.sign_badge(certificates.unsigned_badge(facts, get_settings().base_url),
                                    get_settings().base_url, facts["issued_at"])
    cert = Certificate(public_id=public_id, order_id=order.id, person_id=completion.person_id,
                       course_id=course.id, issued_at=now, facts_json=data.decode(),
                       key_id=kid, signature=signature, badge_json=badge.decode())
    session.add(cert)
    session.flush()
    return cert


def report_certificate(session: Session, *, partner_id: int, order_public_id: str,
                       number: str, url: str | None, now: dt.datetime) -> Certificate:
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
    valid = (certificates.verify_certificate(cert.facts_json, cert.key_id, cert.signature)
             and certificates.verify_badge(cert.badge_json))
    try:
        facts = json.loads(cert.facts_json)
    except ValueError:
        facts = {}
    return valid, facts if isinstance(facts, dict) else {}
