"""Issuing, recording, revoking and sweeping cards keeps the ledger sound and is idempotent."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from prakerja.kit import audit, jobs
from prakerja.kit.notify import Notification
from prakerja.registration.model_policy import ListedPerson
from prakerja.wallet import cards, service_card
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Transfer
from tests.wallet.card_factories import (
    NOW,
    application_id,
    enqueue_winners,
    make_person,
    payload,
    published_2020_policy,
)


def _issue(session, person, **kw):
    return service_card.issue_card(session, now=NOW, **{**payload(person), **kw})


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_issuing_credits_the_policy_balance_and_texts_the_number(session):
    person = make_person(session, 1)
    card = _issue(session, person)
    assert cards.valid_card_number(card.number)
    assert ledger.balance(session, card.ledger_account_id) == (3_500_000, 3_500_000)
    assert card.first_purchase_deadline == dt.date(2026, 6, 16)
    sms = session.scalar(select(Notification).where(Notification.channel == "sms"))
    assert card.number in sms.body
    assert "Rp3.500.000" in sms.body
    assert "16 Juni 2026" in sms.body
    assert check_ledger(session) == []


def test_a_2020_wave_gets_one_million_and_thirty_days(session):
    version = published_2020_policy(session)
    card = _issue(session, make_person(session, 2), policy_version_id=version)
    assert ledger.balance(session, card.ledger_account_id)[0] == 1_000_000
    assert card.first_purchase_deadline == dt.date(2026, 7, 1)


def test_issuing_twice_gives_one_card_and_one_transfer(session):
    person = make_person(session, 3)
    first, again = _issue(session, person), _issue(session, person)
    assert first.id == again.id
    assert _count(session, Transfer, Transfer.kind == "issue") == 1
    assert _count(session, Notification) == 1


def test_the_issue_job_run_twice_issues_once(db):
    with db.transaction() as s:
        person = make_person(s, 4)
        enqueue_winners(s, [person])
        job_payload = payload(person)
    jobs.run_until_idle(db)
    with db.transaction() as s:  # a duplicate job (at-least-once delivery)
        jobs.enqueue(s, "wallet.issue_card", job_payload, now=NOW)
    jobs.run_until_idle(db)
    with db.transaction() as s:
        assert _count(s, service_card.Card) == 1
        assert _count(s, Transfer, Transfer.key == f"issue:{application_id(person.id)}") == 1
        assert set(
            s.scalars(select(jobs.Job.status).where(jobs.Job.kind == "wallet.issue_card"))
        ) == {"done"}
        assert check_ledger(s) == []


def test_a_person_gets_at_most_one_card_ever(session):
    person = make_person(session, 5)
    _issue(session, person)
    with pytest.raises(service_card.AlreadyHoldsCard):
        _issue(session, person, wave_id=8, application_id=application_id(person.id, 8))


def test_an_unknown_person_or_policy_is_refused_and_changes_nothing(session):
    with pytest.raises(service_card.UnknownPerson):
        service_card.issue_card(
            session, application_id=1, person_id=999_999, wave_id=1, policy_version_id=None, now=NOW
        )
    from prakerja.registration.service_eligibility import PolicyNotFound

    person = make_person(session, 6)
    with pytest.raises(PolicyNotFound):
        _issue(session, person, policy_version_id=424242)
    assert _count(session, service_card.Card) == 0


def test_revoking_sweeps_voids_holds_blacklists_and_audits(session):
    person = make_person(session, 7)
    card = _issue(session, person)
    platform = ledger.open_account(session, code="platform:x", kind="platform", now=NOW)
    ledger.hold(
        session,
        key="h1",
        from_id=card.ledger_account_id,
        to_id=platform.id,
        amount=500_000,
        kind="purchase",
        now=NOW,
    )
    later = NOW + dt.timedelta(days=20)
    service_card.revoke(session, card_id=card.id, reason="no purchase", now=later)
    again = service_card.revoke(session, card_id=card.id, reason="no purchase", now=later)
    assert again.status == "revoked"
    assert ledger.balance(session, card.ledger_account_id) == (0, 0)
    treasury = ledger.account_by_code(session, "treasury")
    assert treasury.balance == 3_500_000
    assert _count(session, Transfer, Transfer.key == f"sweep:{card.id}") == 1
    assert (
        _count(
            session,
            ListedPerson,
            ListedPerson.list_kind == "blacklist",
            ListedPerson.nik_bidx == person.nik_bidx,
        )
        == 1
    )
    assert _count(session, audit.AuditEntry, audit.AuditEntry.action == "card.revoke") == 1
    assert check_ledger(session) == []


def test_a_revoked_card_cannot_record_a_purchase(session):
    card = _issue(session, make_person(session, 8))
    service_card.revoke(session, card_id=card.id, reason="test", now=NOW)
    with pytest.raises(service_card.CardNotActive):
        service_card.record_purchase_placed(
            session, card=service_card.get_card(session, card.id), now=NOW
        )


def test_first_course_sets_the_spend_rest_deadline_once(session):
    card = _issue(session, make_person(session, 9))
    service_card.record_purchase_placed(
        session, card=service_card.get_card(session, card.id), now=NOW
    )
    done = NOW + dt.timedelta(days=5)
    service_card.record_first_course_finished(session, card_id=card.id, now=done)
    service_card.record_first_course_finished(
        session, card_id=card.id, now=done + dt.timedelta(days=3)
    )
    assert card.first_course_done_at == done
    assert card.spend_rest_deadline == dt.date(2026, 6, 21)


def test_sweep_remaining_closes_once_and_leaves_zero(session):
    card = _issue(session, make_person(session, 10))
    platform = ledger.open_account(session, code="platform:y", kind="platform", now=NOW)
    ledger.transfer(
        session,
        key="buy",
        from_id=card.ledger_account_id,
        to_id=platform.id,
        amount=1_200_000,
        kind="purchase",
        now=NOW,
    )
    service_card.sweep_remaining(session, card_id=card.id, reason="year_end", now=NOW)
    service_card.sweep_remaining(session, card_id=card.id, reason="year_end", now=NOW)
    assert card.status == "closed"
    assert card.close_reason == "year_end"
    assert ledger.account_by_code(session, "treasury").balance == 2_300_000
    assert check_ledger(session) == []


def test_unknown_card_is_not_found(session):
    with pytest.raises(service_card.CardNotFound):
        service_card.revoke(session, card_id=12345, reason="x", now=NOW)
