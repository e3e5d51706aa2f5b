"""Scheduled scans: reminder once, revocation, spend-rest sweep, year-end cut-off; reruns add
nothing."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from prakerja.kit import jobs
from prakerja.kit.clock import JAKARTA
from prakerja.kit.errors import Invalid
from prakerja.kit.notify import Notification
from prakerja.registration.model_policy import ListedPerson
from prakerja.wallet import cards, service_card
from prakerja.wallet import jobs as card_jobs
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model_card import Card
from tests.wallet.card_factories import NOW, make_person, payload

D = dt.date
NEW_YEAR_2027 = dt.datetime(2027, 1, 1, tzinfo=JAKARTA)  # the first instant after 2026


def _cards(db, n, start=100):
    with db.transaction() as s:
        ids = []
        for i in range(n):
            person = make_person(s, start + i)
            ids.append(service_card.issue_card(s, now=NOW, **payload(person)).id)
    return ids


def _scan(db, today):
    with db.transaction() as s:
        counts = card_jobs.scan_deadlines(s, today=today, now=NOW)
    _run_wallet_jobs(db)
    return counts


def _run_wallet_jobs(db):
    with db.transaction() as s:  # the SMS gateway is not under test here
        s.execute(
            jobs.Job.__table__.update()
            .where(jobs.Job.kind == "notify.deliver")
            .values(status="done")
        )
    jobs.run_until_idle(db)


def _sms_count(db, phrase):
    with db.transaction() as s:
        return s.scalar(
            select(func.count()).select_from(Notification).where(Notification.body.contains(phrase))
        )


def test_the_reminder_goes_out_once_seven_days_before(db):
    _cards(db, 2)
    assert _scan(db, D(2026, 6, 8))["remind"] == 0
    assert _scan(db, D(2026, 6, 9))["remind"] == 2
    assert _scan(db, D(2026, 6, 10))["remind"] == 0
    assert _sms_count(db, "atau kartu") + _sms_count(db, "or card") == 2
    with db.transaction() as s:
        assert all(c.reminder_sent_at is not None for c in s.scalars(select(Card)))


def test_a_card_without_purchase_is_revoked_after_the_deadline(db):
    bought, idle = _cards(db, 2)
    with db.transaction() as s:
        service_card.record_purchase_placed(s, card=service_card.get_card(s, bought), now=NOW)
    assert _scan(db, D(2026, 6, 16))["revoke"] == 0
    assert _scan(db, D(2026, 6, 17))["revoke"] == 1
    assert _scan(db, D(2026, 6, 18))["revoke"] == 0
    with db.transaction() as s:
        assert s.get(Card, idle).status == "revoked"
        assert s.get(Card, bought).status == "active"
        assert s.scalar(select(func.count()).select_from(ListedPerson)) == 1
        assert ledger.account_by_code(s, "treasury").balance == 3_500_000
        assert check_ledger(s) == []


def test_a_purchase_between_scan_and_job_prevents_revocation(db):
    (card_id,) = _cards(db, 1)
    with db.transaction() as s:
        card_jobs.scan_deadlines(s, today=D(2026, 6, 20), now=NOW)
        service_card.record_purchase_placed(s, card=service_card.get_card(s, card_id), now=NOW)
    _run_wallet_jobs(db)
    with db.transaction() as s:
        assert s.get(Card, card_id).status == "active"


def test_the_rest_is_swept_after_the_spend_rest_deadline(db):
    (card_id,) = _cards(db, 1)
    with db.transaction() as s:
        card = s.get(Card, card_id)
        platform = ledger.open_account(s, code="platform:t", kind="platform", now=NOW)
        ledger.transfer(
            s,
            key="buy1",
            from_id=card.ledger_account_id,
            to_id=platform.id,
            amount=1_000_000,
            kind="purchase",
            now=NOW,
        )
        service_card.record_purchase_placed(s, card=service_card.get_card(s, card_id), now=NOW)
        service_card.record_first_course_finished(
            s, card_id=card_id, now=NOW + dt.timedelta(days=4)
        )
    assert _scan(db, D(2026, 6, 20))["spend_rest"] == 0
    assert _scan(db, D(2026, 6, 21))["spend_rest"] == 1
    assert _scan(db, D(2026, 6, 22))["spend_rest"] == 0
    with db.transaction() as s:
        card = s.get(Card, card_id)
        assert card.status == "closed"
        assert card.close_reason == "spend_rest"
        assert ledger.account_by_code(s, "treasury").balance == 2_500_000
        assert check_ledger(s) == []


def _sweep_jobs(db):
    with db.transaction() as s:
        return s.scalar(
            select(func.count()).select_from(jobs.Job).where(jobs.Job.kind == "wallet.sweep_card")
        )


def test_year_end_closes_every_active_card_once(db, monkeypatch):
    monkeypatch.setattr(jobs, "utc_now", lambda: NEW_YEAR_2027)  # the workers' clock
    ids = _cards(db, 3)
    with db.transaction() as s:
        service_card.revoke(s, card_id=ids[0], reason="test", now=NOW)
        assert card_jobs.year_end_cutoff(s, year=2025, now=NEW_YEAR_2027) == 0
    _run_wallet_jobs(db)
    with db.transaction() as s:
        assert {c.status for c in s.scalars(select(Card))} == {"revoked", "active"}
        assert card_jobs.year_end_cutoff(s, year=2026, now=NEW_YEAR_2027) == 2
        assert card_jobs.year_end_cutoff(s, year=2026, now=NEW_YEAR_2027) == 0  # a rerun
    _run_wallet_jobs(db)
    with db.transaction() as s:
        statuses = sorted(c.status for c in s.scalars(select(Card)))
        assert statuses == ["closed", "closed", "revoked"]
        assert ledger.account_by_code(s, "treasury").balance == 3 * 3_500_000
        assert check_ledger(s) == []
    assert _sweep_jobs(db) == 2


def test_a_year_not_ended_in_jakarta_is_refused_and_nothing_is_enqueued(db):
    _cards(db, 2)
    last_instant = NEW_YEAR_2027 - dt.timedelta(microseconds=1)  # 23:59:59.999999 in Jakarta
    with pytest.raises(cards.YearNotEnded), db.transaction() as s:
        card_jobs.year_end_cutoff(s, year=2026, now=last_instant)
    with pytest.raises(cards.YearNotEnded), db.transaction() as s:  # in June, as the audit found
        card_jobs.year_end_cutoff(s, year=2026, now=NOW)
    assert _sweep_jobs(db) == 0
    with db.transaction() as s:
        assert {c.status for c in s.scalars(select(Card))} == {"active"}


def test_the_scheduled_cut_off_closes_the_previous_year_from_jakarta_new_year(db, monkeypatch):
    """Ticked every day: the year is closed on 1 January and the later runs add nothing."""
    _cards(db, 2)
    monkeypatch.setattr(jobs, "SCHEDULE", {card_jobs.YEAR_END: jobs.SCHEDULE[card_jobs.YEAR_END]})
    monkeypatch.setattr(jobs, "INTERVALS", {})
    new_year_eve = NEW_YEAR_2027 - dt.timedelta(hours=2)  # 31 December, 22:00 in Jakarta
    for day, tick_at in enumerate([new_year_eve, NEW_YEAR_2027 + dt.timedelta(hours=1)]):
        monkeypatch.setattr(jobs, "utc_now", lambda at=tick_at: at)
        assert jobs.tick(db, tick_at) == 1
        _run_wallet_jobs(db)
        with db.transaction() as s:
            payloads = s.scalars(
                select(jobs.Job.payload)
                .where(jobs.Job.kind == card_jobs.YEAR_END)
                .order_by(jobs.Job.id)
            ).all()
            assert payloads[-1] == {"year": 2025 + day}
            statuses = {c.status for c in s.scalars(select(Card))}
            assert statuses == ({"active"} if day == 0 else {"closed"})
    next_day = NEW_YEAR_2027 + dt.timedelta(days=1, hours=1)
    monkeypatch.setattr(jobs, "utc_now", lambda: next_day)
    assert jobs.tick(db, next_day) == 1
    _run_wallet_jobs(db)
    assert _sweep_jobs(db) == 2
    with db.transaction() as s:
        assert jobs.counts(s).keys() <= {"done"}  # no cut-off job failed or is left over
        assert ledger.account_by_code(s, "treasury").balance == 2 * 3_500_000
        assert check_ledger(s) == []


def test_a_bad_year_is_refused(session):
    with pytest.raises(Invalid):
        card_jobs.year_end_cutoff(session, year=99, now=NOW)
