"""Bulk issuance gives the same result as the per-job path, keeps the ledger sound, and a rerun
issues nothing new."""

from sqlalchemy import func, select

from prakerja.kit import jobs
from prakerja.kit.clock import jakarta_date
from prakerja.kit.notify import Notification
from prakerja.wallet import bulk, cards
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Transfer
from prakerja.wallet.model_card import Card
from prakerja.wallet.service_card import sms_date
from tests.wallet.card_factories import (
    NOW,
    WAVE,
    enqueue_winners,
    job_statuses,
    make_person,
    published_2020_policy,
)


def _world(db, start, other_wave=True):
    """Five winners of WAVE (one without a phone, one speaking English), maybe one more of
    another wave."""
    with db.transaction() as s:
        people = [
            make_person(s, start + i, phone=i != 3, language="en" if i == 4 else "id")
            for i in range(5)
        ]
        enqueue_winners(s, people)
        if other_wave:
            enqueue_winners(s, [make_person(s, start + 9)], wave=WAVE + 1)


def _snapshot(session):
    rows = session.execute(
        select(
            Card.person_id,
            Card.application_id,
            Card.wave_id,
            Card.status,
            Card.first_purchase_deadline,
            Card.reminder_on,
            Card.ledger_account_id,
            Card.number,
            Card.issued_at,
        )
        .where(Card.wave_id < 1000)
        .order_by(Card.person_id)
    ).all()
    out = []
    for person_id, app, wave, status, deadline, remind, account, number, issued in rows:
        assert cards.valid_card_number(number)
        day = jakarta_date(issued)
        dates = [sms_date(deadline, lang) for lang in ("id", "en")]
        t = session.scalar(select(Transfer).where(Transfer.key == f"issue:{app}"))
        bodies = sorted(
            _norm(b, number, dates)
            for b in session.scalars(
                select(Notification.body).where(Notification.body.contains(number))
            )
        )
        out.append(
            (
                person_id % 100,
                app % 100,
                wave,
                status,
                (deadline - day).days,
                (remind - day).days,
                ledger.balance(session, account),
                t.amount,
                t.status,
                bodies,
            )
        )
    return out


def _norm(body, number, dates):
    for d in dates:
        body = body.replace(d, "D")
    return body.replace(number, "N")


def test_bulk_equals_the_per_job_path(db):
    _world(db, 1, other_wave=False)
    jobs.run_until_idle(db, max_batches=3)  # runs issue jobs (and fails SMS delivery: no sim)
    with db.transaction() as s:
        slow = _snapshot(s)
        _empty_cards(s)
    _world(db, 101)
    with db.transaction() as s:
        report = bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW)
    assert report == bulk.BulkReport(issued=5, already_done=0, left_queued=0)
    with db.transaction() as s:
        fast = _snapshot(s)
        assert check_ledger(s) == []
        assert job_statuses(s, "wallet.issue_card").count("queued") == 1  # the other wave
    assert [r[2:] for r in fast] == [r[2:] for r in slow]
    assert len(fast) == 5


def _empty_cards(s):
    """Turn the slow run's rows into another wave so the fast run starts from no cards."""
    s.execute(Card.__table__.update().values(wave_id=Card.wave_id + 1000))
    s.execute(
        jobs.Job.__table__.update()
        .where(jobs.Job.kind == "wallet.issue_card")
        .values(status="done")
    )


def test_a_bulk_rerun_issues_nothing_and_the_job_path_agrees(db):
    _world(db, 201)
    with db.transaction() as s:
        bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW)
    with db.transaction() as s:
        for card in list(s.scalars(select(Card)))[:2]:
            # Duplicate jobs for the same winners (at-least-once) close without new cards.
            jobs.enqueue(
                s,
                "wallet.issue_card",
                {
                    "application_id": card.application_id,
                    "person_id": card.person_id,
                    "wave_id": WAVE,
                    "policy_version_id": None,
                },
                now=NOW,
            )
    with db.transaction() as s:
        again = bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW)
    assert again == bulk.BulkReport(issued=0, already_done=2, left_queued=0)
    with db.transaction() as s:
        assert bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW) == bulk.BulkReport(0, 0, 0)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Card)) == 5
        assert set(job_statuses(s, "wallet.issue_card")) == {"done", "queued"}
    jobs.run_until_idle(db, max_batches=3)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Transfer)) == 6  # + the other wave
        assert check_ledger(s) == []


def test_bad_or_unknown_jobs_stay_queued_for_the_per_job_path(db):
    with db.transaction() as s:
        good = make_person(s, 301)
        enqueue_winners(s, [good])
        jobs.enqueue(
            s,
            "wallet.issue_card",
            {"application_id": "x", "person_id": good.id, "wave_id": WAVE},
            now=NOW,
        )
        jobs.enqueue(
            s,
            "wallet.issue_card",
            {"application_id": 5, "person_id": 987654, "wave_id": WAVE, "policy_version_id": None},
            now=NOW,
        )
        other = make_person(s, 302)
        enqueue_winners(s, [other], policy_version_id=424242)
    with db.transaction() as s:
        report = bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW)
    assert report.issued == 1
    assert report.left_queued == 2
    with db.transaction() as s:
        assert sorted(job_statuses(s, "wallet.issue_card")) == [
            "done",
            "queued",
            "queued",
            "queued",
        ]


def test_mixed_policies_and_a_chosen_set_of_applications(db):
    with db.transaction() as s:
        version = published_2020_policy(s)
        old = [make_person(s, 400 + i) for i in range(3)]
        new = [make_person(s, 410 + i) for i in range(2)]
        enqueue_winners(s, old, policy_version_id=version)
        enqueue_winners(s, new)
        chosen = [WAVE * 10**12 + p.id for p in old[:2] + new[:1]]
    with db.transaction() as s:
        report = bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW, application_ids=chosen)
    assert report.issued == 3
    with db.transaction() as s:
        report = bulk.issue_cards_for_wave(s, wave_id=WAVE, now=NOW, limit=1)
        assert report.issued == 1
    with db.transaction() as s:
        amounts = sorted(t.amount for t in s.scalars(select(Transfer)))
        assert amounts == [1_000_000, 1_000_000, 1_000_000, 3_500_000]
        assert ledger.account_by_code(s, "budget").balance == -6_500_000
        assert check_ledger(s) == []
