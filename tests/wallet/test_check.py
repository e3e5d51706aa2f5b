"""`wallet check` on a broken ledger: each corruption it looks for is found and named, and the
command exits non-zero printing it (zero on a sound ledger)."""

import json
from contextlib import nullcontext

import pytest
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from prakerja.cli import app
from prakerja.kit.db import is_postgres
from prakerja.settings import get_settings
from prakerja.wallet import service as ledger
from prakerja.wallet import service_card
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Entry, LedgerAccount, Transfer
from tests.tamper import guards_lifted
from tests.wallet.card_factories import NOW, make_person, payload


@pytest.fixture
def card(session):
    """An issued card (3,500,000) that bought a course for 1,000,000 from a platform."""
    card = service_card.issue_card(session, now=NOW, **payload(make_person(session, 900)))
    platform = ledger.open_account(session, code="platform:chk", kind="platform", now=NOW)
    ledger.transfer(
        session,
        key="buy-chk",
        from_id=card.ledger_account_id,
        to_id=platform.id,
        amount=1_000_000,
        kind="purchase",
        now=NOW,
    )
    assert check_ledger(session) == []
    return card


def _rules(session):
    return {(p.rule, p.subject) for p in check_ledger(session)}


def _platform(session):
    return ledger.account_by_code(session, "platform:chk").id


def _transfer(session, key):
    return session.scalars(select(Transfer).where(Transfer.key == key)).one()


def _set(session, model, *where, **values):
    """Corrupt rows behind the ledger's back (as a bad migration or a hand edit would)."""
    append_only = model.__tablename__ in ("ledger_entry", "ledger_transfer")
    with guards_lifted(session, model.__tablename__) if append_only else nullcontext():
        session.execute(update(model).where(*where).values(**values))
    session.expire_all()


def _without_check_constraints(session):
    """Let a row break the table's CHECK constraints, for this test's transaction only."""
    if is_postgres(session):  # DDL is transactional: the fixture's rollback restores it
        session.execute(
            text("ALTER TABLE ledger_account DROP CONSTRAINT ck_ledger_account_no_negative")
        )
        session.execute(
            text("ALTER TABLE ledger_account DROP CONSTRAINT ck_ledger_account_held_covered")
        )
    else:  # this connection only; the test's database file is thrown away after
        session.execute(text("PRAGMA ignore_check_constraints = ON"))


def test_a_transfer_whose_entries_do_not_sum_to_zero_is_named(session, card):
    buy = _transfer(session, "buy-chk")
    credit = Entry.transfer_id == buy.id, Entry.amount > 0
    _set(session, Entry, *credit, amount=999_999)  # and the platform's balance to match it
    _set(session, LedgerAccount, LedgerAccount.code == "platform:chk", balance=999_999)
    (problem,) = check_ledger(session)
    assert (problem.rule, problem.subject) == ("transfer_balances", f"transfer:{buy.id}")
    assert problem.detail == "status=posted entries=2 sum=-1"


def test_a_posted_transfer_missing_a_leg_is_named(session, card):
    buy = _transfer(session, "buy-chk")
    with guards_lifted(session, "ledger_entry"):
        session.execute(delete(Entry).where(Entry.transfer_id == buy.id, Entry.amount > 0))
    assert ("transfer_balances", f"transfer:{buy.id}") in _rules(session)


def test_a_pending_transfer_with_entries_is_named(session, card):
    hold = ledger.hold(
        session,
        key="hold-chk",
        from_id=card.ledger_account_id,
        to_id=_platform(session),
        amount=100_000,
        kind="purchase",
        now=NOW,
    )
    session.add_all(  # legs written for a transfer that was never posted
        [
            Entry(transfer_id=hold.id, account_id=hold.from_account_id, amount=-1, created_at=NOW),
            Entry(transfer_id=hold.id, account_id=hold.to_account_id, amount=1, created_at=NOW),
        ]
    )
    session.flush()
    assert ("transfer_balances", f"transfer:{hold.id}") in _rules(session)


def test_a_balance_that_is_not_the_sum_of_its_entries_is_named(session, card):
    _set(session, LedgerAccount, LedgerAccount.code == "platform:chk", balance=1_000_005)
    (problem,) = check_ledger(session)
    assert (problem.rule, problem.subject) == ("balance_equals_entries", "platform:chk")
    assert problem.detail == "balance=1000005 entries=1000000"


def test_a_negative_recipient_balance_is_named(session, card):
    _without_check_constraints(session)
    other = ledger.open_account(session, code="card:stray", kind="recipient", now=NOW)
    _set(session, LedgerAccount, LedgerAccount.id == other.id, allow_negative=True)
    ledger.transfer(  # consistent entries: only the sign is wrong
        session,
        key="overdraw",
        from_id=other.id,
        to_id=_platform(session),
        amount=100,
        kind="purchase",
        now=NOW,
    )
    _set(session, LedgerAccount, LedgerAccount.id == other.id, allow_negative=False)
    (problem,) = check_ledger(session)
    assert (problem.rule, problem.subject) == ("no_negative_balance", "card:stray")
    assert problem.detail == "balance=-100 held=0"


def test_more_held_than_the_balance_is_named(session, card):
    _without_check_constraints(session)
    code = f"card:{card.id}"
    _set(session, LedgerAccount, LedgerAccount.code == code, held=2_500_001)
    rules = _rules(session)
    assert ("no_negative_balance", code) in rules
    assert ("held_equals_pending_holds", code) in rules


def test_an_orphan_hold_is_named(session, card):
    hold = ledger.hold(
        session,
        key="hold-chk",
        from_id=card.ledger_account_id,
        to_id=_platform(session),
        amount=100_000,
        kind="purchase",
        now=NOW,
    )
    assert check_ledger(session) == []
    _set(session, Transfer, Transfer.id == hold.id, status="voided")  # held never released
    (problem,) = check_ledger(session)
    assert (problem.rule, problem.subject) == ("held_equals_pending_holds", f"card:{card.id}")
    assert problem.detail == "held=100000 pending=0"


@pytest.mark.parametrize("end", ["revoke", "close"])
def test_money_reaching_a_revoked_or_closed_card_is_named(session, card, end):
    if end == "revoke":
        service_card.revoke(session, card_id=card.id, reason="fraud", now=NOW)
    else:
        service_card.sweep_remaining(session, card_id=card.id, reason="year_end", now=NOW)
    assert check_ledger(session) == []
    ledger.transfer(  # a refund written straight to the ledger, past refund_purchase
        session,
        key="stray-refund",
        from_id=_platform(session),
        to_id=card.ledger_account_id,
        amount=400_000,
        kind="refund",
        now=NOW,
    )
    (problem,) = check_ledger(session)
    assert (problem.rule, problem.subject) == ("closed_or_revoked_card_empty", f"card:{card.id}")
    status = "revoked" if end == "revoke" else "closed"
    assert problem.detail == f"status={status} balance=400000 held=0 pending_holds=0"


def test_a_hold_on_a_closed_card_is_named(session, card):
    service_card.sweep_remaining(session, card_id=card.id, reason="year_end", now=NOW)
    ledger.transfer(
        session,
        key="stray-refund",
        from_id=_platform(session),
        to_id=card.ledger_account_id,
        amount=400_000,
        kind="refund",
        now=NOW,
    )
    ledger.hold(
        session,
        key="stray-hold",
        from_id=card.ledger_account_id,
        to_id=_platform(session),
        amount=400_000,
        kind="purchase",
        now=NOW,
    )
    (problem,) = check_ledger(session)
    assert problem.rule == "closed_or_revoked_card_empty"
    assert problem.detail == "status=closed balance=400000 held=400000 pending_holds=1"


def test_an_active_card_with_money_is_fine(session, card):
    assert _rules(session) == set()


@pytest.fixture
def cli_db(db, monkeypatch):
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def test_the_command_exits_zero_on_a_sound_ledger_and_one_naming_each_problem(cli_db):
    with cli_db.transaction() as s:
        card = service_card.issue_card(s, now=NOW, **payload(make_person(s, 901)))
        code = f"card:{card.id}"
    runner = CliRunner()
    sound = runner.invoke(app, ["wallet", "check"])
    assert sound.exit_code == 0, sound.output
    assert json.loads(sound.stdout.splitlines()[-1]) == {"ok": True, "problems": 0}
    with cli_db.transaction() as s:
        _set(s, LedgerAccount, LedgerAccount.code == code, balance=3_500_001)
    broken = runner.invoke(app, ["wallet", "check"])
    assert broken.exit_code == 1
    *problems, summary = [json.loads(line) for line in broken.stdout.splitlines()]
    assert problems == [
        {
            "rule": "balance_equals_entries",
            "subject": code,
            "detail": "balance=3500001 entries=3500000",
        }
    ]
    assert summary == {"ok": False, "problems": 1}
