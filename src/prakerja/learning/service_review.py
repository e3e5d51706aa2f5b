"""The mandatory review: after completion the recipient gives 1-5 stars and a text. Only then
is the order completed in the marketplace (a next course may be bought), the first course
stamped finished on the card (the spend-rest deadline starts) and the incentive unlocked.

The incentive is announced by the job `payout.incentive_eligible` (payload person_id,
order_id, card_id), enqueued once per order in the same transaction. The payout context
registers its handler; until it does the job waits in the queue (a long retry budget), and
`eligible_orders` is the durable record either way.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.learning import rules
from prakerja.learning.model import Completion, Review
from prakerja.learning.service_enrolment import citizen_order
from prakerja.marketplace import service_order
from prakerja.wallet import service_card

INCENTIVE_JOB = "payout.incentive_eligible"
INCENTIVE_JOB_ATTEMPTS = 2000  # about 80 days of hourly retries while payout is not deployed


def submit_review(
    session: Session,
    *,
    account_id: int,
    order_public_id: str,
    stars: int,
    text: str,
    now: dt.datetime,
) -> Review:
    """Record the review once (a repeat of the same review answers the same) and unlock what
    waits on it; before completion it is a conflict."""
    stars, clean = rules.check_review(stars, text)
    order, course = citizen_order(session, account_id, order_public_id)
    completion = session.scalar(select(Completion).where(Completion.order_id == order.id))
    if completion is None:
        raise rules.NotCompleted()
    existing = session.scalar(select(Review).where(Review.order_id == order.id))
    if existing is not None:
        if (existing.stars, existing.text) != (stars, clean):
            raise rules.ReviewExists()
        return existing
    review = Review(
        order_id=order.id,
        course_id=course.id,
        person_id=completion.person_id,
        stars=stars,
        text=clean,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(review)
            session.flush()
    except IntegrityError:
        raise rules.ReviewExists() from None
    _unlock(
        session, order_id=order.id, card_id=order.card_id, person_id=completion.person_id, now=now
    )
    return review


def _unlock(
    session: Session, *, order_id: int, card_id: int, person_id: int, now: dt.datetime
) -> None:
    service_order.mark_order_completed(session, order_id=order_id, now=now)
    service_card.record_first_course_finished(session, card_id=card_id, now=now)
    jobs.enqueue(
        session,
        INCENTIVE_JOB,
        {"person_id": person_id, "order_id": order_id, "card_id": card_id},
        now=now,
        key=f"{INCENTIVE_JOB}:order:{order_id}",
        max_attempts=INCENTIVE_JOB_ATTEMPTS,
    )


def eligible_orders(session: Session, *, since: dt.datetime | None = None) -> list[tuple[int, int]]:
    """(person_id, order_id) of every reviewed completion (the incentive precondition), oldest
    first; for payout's reconciliation."""
    stmt = (
        select(Review.person_id, Review.order_id)
        .join(Completion, Completion.order_id == Review.order_id)
        .order_by(Review.id)
    )
    if since is not None:
        stmt = stmt.where(Review.created_at >= since)
    return [(p, o) for p, o in session.execute(stmt)]
