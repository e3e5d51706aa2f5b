"""Learning services on both backends: redeem windows, completion, certificate, review."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from prakerja.kit import jobs
from prakerja.kit.db import Database
from prakerja.learning import (
    certificates,
    rules,
    service_attendance,
    service_completion,
    service_review,
)
from prakerja.learning.model import Certificate, RedeemCode
from prakerja.learning.service_enrolment import (
    course_under_way,
    enrolments,
    issue_redeem_codes,
)
from prakerja.wallet import service_card
from tests.learning.conftest import (
    NOW,
    Learner,
    Setup,
    attend,
    make_learner,
    make_setup,
    order_status,
)

START = NOW + dt.timedelta(days=2)
TICK = dt.timedelta(microseconds=1)


@pytest.fixture
def world(db: Database) -> tuple[Setup, Learner]:
    with db.transaction() as s:
        setup = make_setup(s, starts=[START, START + dt.timedelta(days=1)])
        return setup, make_learner(s, setup)


def _code(db: Database, learner: Learner, session_id: int) -> str:
    with db.transaction() as s:
        codes = issue_redeem_codes(s, order_id=learner.order_id, now=NOW)
        return next(c.code for c in codes if c.session_id == session_id)


def test_each_session_gets_one_code_and_reissuing_changes_nothing(
    db: Database, world: tuple[Setup, Learner]
) -> None:
    setup, learner = world
    with db.transaction() as s:
        first = {
            c.session_id: c.code for c in issue_redeem_codes(s, order_id=learner.order_id, now=NOW)
        }
        again = {
            c.session_id: c.code for c in issue_redeem_codes(s, order_id=learner.order_id, now=NOW)
        }
        assert first == again
        assert set(first) == set(setup.session_ids)
        assert s.scalar(select(func.count()).select_from(RedeemCode)) == 2


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (-dt.timedelta(minutes=60), True),
        (dt.timedelta(minutes=60), True),
        (-dt.timedelta(minutes=60) - TICK, False),
        (dt.timedelta(minutes=60) + TICK, False),
    ],
)
def test_redeem_window_boundaries_are_exact(
    db: Database, world: tuple[Setup, Learner], offset: dt.timedelta, ok: bool
) -> None:
    setup, learner = world
    code = _code(db, learner, setup.session_ids[0])
    with db.transaction() as s:
        if ok:
            row = service_attendance.commit_redeem_code(
                s,
                partner_id=setup.platform_id,
                session_id=setup.session_ids[0],
                code=code,
                now=START + offset,
            )
            assert row.committed_at == START + offset
        else:
            with pytest.raises(rules.RedeemWindowClosed):
                service_attendance.commit_redeem_code(
                    s,
                    partner_id=setup.platform_id,
                    session_id=setup.session_ids[0],
                    code=code,
                    now=START + offset,
                )


def test_a_code_is_bound_to_its_session_and_its_partners(
    db: Database, world: tuple[Setup, Learner]
) -> None:
    setup, learner = world
    code = _code(db, learner, setup.session_ids[0])
    with db.transaction() as s:
        with pytest.raises(rules.RedeemCodeNotFound):
            service_attendance.check_redeem_code(
                s,
                partner_id=setup.platform_id,
                session_id=setup.session_ids[1],
                code=code,
                now=START,
            )
        other = make_setup(s, starts=[START])
        with pytest.raises(rules.RedeemCodeNotFound):
            service_attendance.check_redeem_code(
                s,
                partner_id=other.platform_id,
                session_id=setup.session_ids[0],
                code=code,
                now=START,
            )
        assert (
            service_attendance.check_redeem_code(
                s,
                partner_id=setup.provider_id,
                session_id=setup.session_ids[0],
                code=code.lower(),
                now=START,
            ).committed_at
            is None
        )


def test_a_moved_session_moves_the_open_window(db: Database, world: tuple[Setup, Learner]) -> None:
    setup, learner = world
    code = _code(db, learner, setup.session_ids[0])
    with db.transaction() as s:
        from prakerja.marketplace.model import CourseSession

        row = s.get(CourseSession, setup.session_ids[0])
        assert row is not None
        row.starts_at, row.ends_at = START + dt.timedelta(hours=5), START + dt.timedelta(hours=7)
    with db.transaction() as s:
        with pytest.raises(rules.RedeemWindowClosed):
            service_attendance.commit_redeem_code(
                s,
                partner_id=setup.platform_id,
                session_id=setup.session_ids[0],
                code=code,
                now=START,
            )
        issue_redeem_codes(s, order_id=learner.order_id, now=NOW)
        moved = s.scalar(select(RedeemCode).where(RedeemCode.code == code))
        assert moved is not None
        assert moved.valid_from == START + dt.timedelta(hours=4)


def test_completion_needs_every_session_attended_first(
    db: Database, world: tuple[Setup, Learner]
) -> None:
    setup, learner = world
    with db.transaction() as s, pytest.raises(rules.SessionsNotAttended):
        service_completion.record_completion(
            s,
            order_id=learner.order_id,
            pre_score=40,
            post_score=80,
            partner_id=setup.platform_id,
            now=START,
        )


def _attend_all(db: Database, setup: Setup, learner: Learner) -> None:
    """Attend both sessions, each at its start."""
    for sid, start in zip(setup.session_ids, (START, START + dt.timedelta(days=1)), strict=True):
        _code(db, learner, sid)  # issues the order's codes
        attend(db, setup, (learner.order_id, learner.order_public_id), sid, start)


def test_completion_issues_a_verifiable_certificate_once(
    db: Database, world: tuple[Setup, Learner]
) -> None:
    setup, learner = world
    _attend_all(db, setup, learner)
    done_at = START + dt.timedelta(days=2)
    with db.transaction() as s:
        service_completion.record_completion(
            s,
            order_id=learner.order_id,
            pre_score=40,
            post_score=85,
            partner_id=setup.provider_id,
            now=done_at,
        )
    with db.transaction() as s:
        again = service_completion.record_completion(
            s,
            order_id=learner.order_id,
            pre_score=40,
            post_score=85,
            partner_id=setup.platform_id,
            now=done_at + dt.timedelta(hours=1),
        )
        assert again.completed_at == done_at
        with pytest.raises(rules.AlreadyReportedDifferently):
            service_completion.record_completion(
                s,
                order_id=learner.order_id,
                pre_score=40,
                post_score=90,
                partner_id=setup.platform_id,
                now=done_at,
            )
    with db.transaction() as s:
        certs = list(s.scalars(select(Certificate)))
        assert len(certs) == 1
        valid, facts = service_completion.check_certificate(certs[0])
        assert valid
        assert facts["recipient"]["name"] == "Budi Santoso"
        assert facts["scores"] == {"pre": 40, "post": 85}
        assert certificates.verify_badge(certs[0].badge_json)
        view = enrolments(s, account_id=learner.account_id, now=done_at)[0]
        assert view.completion is not None
        assert view.certificate is not None
        assert (view.progress, view.next_step) == (100, "review")


def test_a_tampered_stored_certificate_no_longer_verifies(
    db: Database, world: tuple[Setup, Learner]
) -> None:
    setup, learner = world
    _attend_all(db, setup, learner)
    with db.transaction() as s:
        service_completion.record_completion(
            s,
            order_id=learner.order_id,
            pre_score=40,
            post_score=85,
            partner_id=setup.platform_id,
            now=START + dt.timedelta(days=2),
        )
    with db.transaction() as s:
        cert = s.scalars(select(Certificate)).one()
        facts = json.loads(cert.facts_json)
        facts["scores"]["post"] = 100
        cert.facts_json = json.dumps(facts, separators=(",", ":"), sort_keys=True)
    with db.transaction() as s:
        assert not service_completion.check_certificate(s.scalars(select(Certificate)).one())[0]


def test_review_is_required_before_the_order_completes_and_the_incentive_is_queued(
    db: Database, world: tuple[Setup, Learner]
) -> None:
    setup, learner = world
    with db.transaction() as s:
        assert course_under_way(s, learner.card_id)[0] == "attend"
    with db.transaction() as s, pytest.raises(rules.NotCompleted):
        service_review.submit_review(
            s,
            account_id=learner.account_id,
            order_public_id=learner.order_public_id,
            stars=5,
            text="Sangat bermanfaat",
            now=START,
        )
    _attend_all(db, setup, learner)
    done_at = START + dt.timedelta(days=2)
    with db.transaction() as s:
        service_completion.record_completion(
            s,
            order_id=learner.order_id,
            pre_score=40,
            post_score=85,
            partner_id=setup.platform_id,
            now=done_at,
        )
    assert order_status(db, learner.order_id) == "confirmed"
    with db.transaction() as s:
        # the dashboard asks for the review as soon as the partner reports the completion
        assert course_under_way(s, learner.card_id)[0] == "review"
        assert _incentive_jobs(s) == []
        assert service_card.get_card(s, learner.card_id).first_course_done_at is None
    for _ in range(2):  # a repeated review changes nothing
        with db.transaction() as s:
            service_review.submit_review(
                s,
                account_id=learner.account_id,
                order_public_id=learner.order_public_id,
                stars=4,
                text="Sangat bermanfaat untuk usaha saya",
                now=done_at,
            )
    assert order_status(db, learner.order_id) == "completed"
    with db.transaction() as s:
        assert course_under_way(s, learner.card_id) is None
        assert _incentive_jobs(s) == [
            {
                "person_id": learner.person_id,
                "order_id": learner.order_id,
                "card_id": learner.card_id,
            }
        ]
        assert service_card.get_card(s, learner.card_id).first_course_done_at == done_at
        assert service_review.eligible_orders(s) == [(learner.person_id, learner.order_id)]
        with pytest.raises(rules.ReviewExists):
            service_review.submit_review(
                s,
                account_id=learner.account_id,
                order_public_id=learner.order_public_id,
                stars=1,
                text="Berubah pikiran saya",
                now=done_at,
            )


def _incentive_jobs(s: object) -> list[dict[str, int]]:
    return [
        j.payload
        for j in s.scalars(  # type: ignore[attr-defined]
            select(jobs.Job).where(jobs.Job.kind == "payout.incentive_eligible")
        )
    ]
