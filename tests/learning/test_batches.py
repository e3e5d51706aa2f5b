"""Batches (cohorts) of a course: a buyer joins one batch and attends its sessions only, so the
platform can open a later batch without blocking anyone's completion; a batch that has started
can no longer be joined."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from prakerja.kit.db import Database
from prakerja.learning import rules as learning_rules
from prakerja.learning import service_attendance, service_completion
from prakerja.learning.service_enrolment import issue_redeem_codes
from prakerja.marketplace import rules, service_catalogue, service_order
from prakerja.marketplace.model import BatchSeats, Course, CourseSession, Order, Partner
from tests.learning.conftest import NOW, Setup, attend, make_learner, make_setup, signed

DAY = dt.timedelta(days=1)
A1, A2, B1, B2 = NOW + 2 * DAY, NOW + 3 * DAY, NOW + 30 * DAY, NOW + 31 * DAY


def test_open_batches_are_those_not_started_soonest_first():
    starts = {"Jan": NOW + 30 * DAY, "Des": NOW + DAY, "Nov": NOW - DAY}
    assert rules.open_batches(starts, NOW) == ["Des", "Jan"]
    assert rules.pick_batch({}, None, NOW) is None  # no sessions: self-paced
    assert rules.pick_batch({"": NOW + DAY}, None, NOW) == ""  # the only batch
    assert rules.pick_batch(starts, "Jan", NOW) == "Jan"
    with pytest.raises(rules.ChooseBatch) as asked:
        rules.pick_batch(starts, None, NOW)
    assert asked.value.extra["batches"] == ["Des", "Jan"]
    with pytest.raises(rules.ChooseBatch):
        rules.pick_batch(starts, "Nov", NOW)  # started
    with pytest.raises(rules.NoBatchOpen):
        rules.pick_batch({"Nov": NOW - DAY}, None, NOW)


def _two_batches(db: Database) -> tuple[Setup, dict[str, list[int]]]:
    """A webinar with batch "Des" (two sessions soon) and batch "Jan" (two a month later)."""
    with db.transaction() as s:
        setup = make_setup(s, starts=[])
        platform = s.get(Partner, setup.platform_id)
        ids: dict[str, list[int]] = {}
        for batch, starts in (("Des", (A1, A2)), ("Jan", (B1, B2))):
            for i, start in enumerate(starts):
                row, _ = service_catalogue.add_session(
                    s,
                    platform=platform,
                    course_public_id=setup.course_public_id,
                    external_ref=f"{batch}-{i}",
                    starts_at=start,
                    ends_at=start + dt.timedelta(hours=2),
                    venue=None,
                    now=NOW,
                    batch=batch,
                )
                ids.setdefault(batch, []).append(row.id)
    return setup, ids


def test_a_buyer_attends_the_batch_joined_and_a_later_batch_blocks_nothing(db: Database) -> None:
    setup, ids = _two_batches(db)
    with db.transaction() as s:
        learner = make_learner(s, setup, batch="Jan")
        assert s.get(Order, learner.order_id).batch == "Jan"
        codes = issue_redeem_codes(s, order_id=learner.order_id, now=NOW)
        assert {c.session_id for c in codes} == set(ids["Jan"])  # no code for December's
    with db.transaction() as s, pytest.raises(learning_rules.EnrolmentNotFound):
        service_attendance.report_attendance(
            s,
            partner_id=setup.platform_id,
            order_public_id=learner.order_public_id,
            session_id=ids["Des"][0],
            method="face",
            attended_at=None,
            now=A1,
        )
    with db.transaction() as s:  # the platform opens a third batch after the sale
        service_catalogue.add_session(
            s,
            platform=s.get(Partner, setup.platform_id),
            course_public_id=setup.course_public_id,
            external_ref="Feb-0",
            starts_at=NOW + 60 * DAY,
            ends_at=NOW + 60 * DAY + dt.timedelta(hours=2),
            venue=None,
            now=NOW,
            batch="Feb",
        )
    for sid, start in zip(ids["Jan"], (B1, B2), strict=True):
        attend(db, setup, (learner.order_id, learner.order_public_id), sid, start)
    with db.transaction() as s:
        done = service_completion.record_completion(
            s,
            order_id=learner.order_id,
            pre_score=40,
            post_score=85,
            partner_id=setup.platform_id,
            now=B2 + dt.timedelta(hours=3),
        )
        assert done.post_score == 85


def test_without_a_choice_among_open_batches_the_purchase_asks_for_one(db: Database) -> None:
    setup, _ = _two_batches(db)
    with db.transaction() as s, pytest.raises(rules.ChooseBatch):
        make_learner(s, setup)
    with db.transaction() as s:
        assert s.scalar(select(Order.id)) is None  # nothing was written


def test_a_started_batch_cannot_be_joined_and_a_session_keeps_its_batch(db: Database) -> None:
    setup, ids = _two_batches(db)
    with db.transaction() as s:
        learner = make_learner(s, setup, batch="Des")
    with db.transaction() as s:
        course = s.scalar(select(CourseSession.course_id).where(CourseSession.id == ids["Des"][0]))
        assert rules.open_batches(service_catalogue.batch_starts(s, course), A1 + DAY) == ["Jan"]
    with db.transaction() as s, pytest.raises(rules.BadCourse):
        service_catalogue.add_session(
            s,
            platform=s.get(Partner, setup.platform_id),
            course_public_id=setup.course_public_id,
            external_ref="Des-0",
            starts_at=A1,
            ends_at=A1 + dt.timedelta(hours=2),
            venue=None,
            now=NOW,
            batch="Jan",
        )
    assert learner.order_id


def test_the_partner_api_takes_and_shows_the_batch(db: Database, client) -> None:
    setup, _ = _two_batches(db)
    start = (NOW + 90 * DAY).replace(microsecond=0)
    answer = signed(
        client,
        setup.keys,
        "POST",
        f"/api/partner/v1/courses/{setup.course_public_id}/schedules",
        {
            "external_ref": "Mar-0",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
            "batch": "Mar",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["batch"] == "Mar"
    with db.transaction() as s:
        learner = make_learner(s, setup, batch="Mar")
    got = signed(
        client, setup.keys, "POST", f"/api/partner/v1/orders/{learner.order_public_id}/confirm"
    )
    assert got.json()["batch"] == "Mar"


def test_a_self_paced_course_has_no_batch(db: Database) -> None:
    with db.transaction() as s:
        setup = make_setup(s, starts=[], mode="self_paced")
        learner = make_learner(s, setup)
        assert s.get(Order, learner.order_id).batch is None


def test_the_course_page_lists_each_batch_in_jakarta_time(db: Database, client) -> None:
    setup, _ = _two_batches(db)
    page = client.get(f"/courses/{setup.course_public_id}").text
    assert "Angkatan Des" in page
    assert "Angkatan Jan" in page
    assert f"{A1.astimezone(dt.timezone(dt.timedelta(hours=7))):%d-%m-%Y %H:%M} WIB" in page


def test_a_course_capacity_holds_per_batch_and_a_cancellation_frees_its_seat(db: Database) -> None:
    setup, _ = _two_batches(db)
    with db.transaction() as s:
        s.get(Course, setup.course_id).capacity = 1  # one seat in each batch
    with db.transaction() as s:
        first = make_learner(s, setup, batch="Des")
    with db.transaction() as s, pytest.raises(rules.CourseFull):
        make_learner(s, setup, batch="Des")
    with db.transaction() as s:
        make_learner(s, setup, batch="Jan")  # another batch, its own seat
    with db.transaction() as s:
        service_order.cancel_order(
            s,
            partner=s.get(Partner, setup.platform_id),
            order_public_id=first.order_public_id,
            reason="jadwal pengajar berubah",
            now=NOW,
        )
    with db.transaction() as s:
        make_learner(s, setup, batch="Des")  # the freed seat
        seats = dict(s.execute(select(BatchSeats.batch, BatchSeats.taken)).tuples().all())
        assert seats == {"Des": 1, "Jan": 1}
        assert s.get(Course, setup.course_id).seats_taken == 0


def test_buyers_at_once_never_overbook_a_batch(db: Database) -> None:
    from tests.burst import at_once

    setup, _ = _two_batches(db)
    with db.transaction() as s:
        s.get(Course, setup.course_id).capacity = 3

    def buy() -> None:
        with db.transaction() as s:
            make_learner(s, setup, batch="Des")

    outcomes = at_once([buy] * 6)
    assert sorted(outcomes) == ["course_full"] * 3 + ["ok"] * 3
    with db.transaction() as s:
        assert s.scalar(select(BatchSeats.taken).where(BatchSeats.batch == "Des")) == 3
