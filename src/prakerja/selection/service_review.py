"""Manual review: after repeated non-selection a citizen may ask, and an operator decides.

The threshold is the wave policy's `max_non_selections_before_review` (3 by default). A person
has at most one open request; every decision is audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.kit import audit
from prakerja.kit.errors import Conflict, Forbidden, Invalid, NotFound
from prakerja.registration import service as registration
from prakerja.registration.service_eligibility import current_policy
from prakerja.selection.model import Application, ManualReview

DECISIONS = ("approved", "rejected")


class ReviewNotAllowed(Forbidden):
    code = "selection.review_not_allowed"
    title = "A manual review can be requested only after repeated non-selection"


class ReviewAlreadyOpen(Conflict):
    code = "selection.review_open"
    title = "Your manual review request is already being handled"


def non_selections(session: Session, person_id: int) -> int:
    """How many waves drew the person's eligible application but did not select it."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.person_id == person_id, Application.status == "not_selected")
        )
        or 0
    )


def review_threshold(session: Session) -> int:
    """Non-selections needed before a review may be asked (current policy)."""
    return current_policy(session)[1].max_non_selections_before_review


def open_review(session: Session, person_id: int) -> ManualReview | None:
    """The person's newest review request, if any."""
    return session.scalar(
        select(ManualReview)
        .where(ManualReview.person_id == person_id)
        .order_by(ManualReview.id.desc())
        .limit(1)
    )


def request_review(session: Session, *, account_id: int, now: dt.datetime) -> ManualReview:
    """Ask for a manual review; refused below the threshold or with a request still open."""
    person = registration.find_person(session, account_id)
    if person is None:
        raise NotFound("No registration")
    count = non_selections(session, person.id)
    if count < review_threshold(session):
        raise ReviewNotAllowed()
    latest = open_review(session, person.id)
    if latest is not None and latest.status == "requested":
        raise ReviewAlreadyOpen()
    review = ManualReview(
        person_id=person.id, requested_at=now, non_selections=count, status="requested", note=""
    )
    session.add(review)
    session.flush()
    return review


def pending_reviews(session: Session, limit: int = 200) -> list[ManualReview]:
    """Open requests, oldest first."""
    return list(
        session.scalars(
            select(ManualReview)
            .where(ManualReview.status == "requested")
            .order_by(ManualReview.id)
            .limit(limit)
        )
    )


def decide_review(
    session: Session, *, review_id: int, decision: str, note: str, actor: str, now: dt.datetime
) -> ManualReview:
    """Approve or reject an open request with a note; audited."""
    if decision not in DECISIONS:
        raise Invalid("The decision is approved or rejected")
    review = session.get(ManualReview, review_id)
    if review is None:
        raise NotFound("No such review")
    if review.status != "requested":
        raise Conflict("This review is already decided")
    review.status, review.decision, review.note = decision, decision, note.strip()[:500]
    review.decided_by, review.decided_at = actor, now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="review.decide",
        target=f"review:{review.id}",
        data={"decision": decision, "person_id": review.person_id},
        now=now,
    )
    return review
