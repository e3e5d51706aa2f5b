"""The ledger is append-only in the database itself, not only by the code's habit: an entry is
never updated or deleted, a transfer is never deleted and only a pending one may settle, once.
Each refused statement changes nothing."""

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from prakerja.wallet import service as ledger
from prakerja.wallet import service_card
from prakerja.wallet.model import Entry, LedgerAccount, Transfer
from tests.wallet.card_factories import NOW, make_person, payload


@pytest.fixture
def ids(session):
    """A card that bought a course (posted) and holds another (pending); committed."""
    card = service_card.issue_card(session, now=NOW, **payload(make_person(session, 910)))
    platform = ledger.open_account(session, code="platform:ao", kind="platform", now=NOW)
    buy = ledger.transfer(
        session,
        key="buy-ao",
        from_id=card.ledger_account_id,
        to_id=platform.id,
        amount=1_000_000,
        kind="purchase",
        now=NOW,
    )
    hold = ledger.hold(
        session,
        key="hold-ao",
        from_id=card.ledger_account_id,
        to_id=platform.id,
        amount=200_000,
        kind="purchase",
        now=NOW,
    )
    session.commit()
    return {"card": card.ledger_account_id, "buy": buy.id, "hold": hold.id}


def _snapshot(session):
    session.rollback()
    entries = session.execute(select(Entry.id, Entry.amount).order_by(Entry.id)).all()
    transfers = session.execute(
        select(Transfer.id, Transfer.status, Transfer.amount, Transfer.key).order_by(Transfer.id)
    ).all()
    return entries, transfers


def assert_refused(session, statement):
    """The statement fails naming the append-only rule, and no row changed."""
    before = _snapshot(session)
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(statement)
    assert _snapshot(session) == before


def test_an_entry_cannot_be_edited_or_deleted(session, ids):
    leg = Entry.transfer_id == ids["buy"]
    assert_refused(session, update(Entry).where(leg).values(amount=1))
    assert_refused(session, delete(Entry).where(leg))
    assert_refused(session, text("DELETE FROM ledger_entry"))


def test_a_transfer_cannot_be_deleted_or_rewritten(session, ids):
    assert_refused(session, delete(Transfer).where(Transfer.id == ids["buy"]))
    assert_refused(
        session, update(Transfer).where(Transfer.id == ids["buy"]).values(status="voided")
    )
    assert_refused(
        session, update(Transfer).where(Transfer.id == ids["buy"]).values(status="pending")
    )
    pending = Transfer.id == ids["hold"]
    assert_refused(session, delete(Transfer).where(pending))  # a hold has no entries to protect it
    assert_refused(session, update(Transfer).where(pending).values(amount=1))  # still pending
    assert_refused(session, update(Transfer).where(pending).values(to_account_id=ids["card"]))
    assert_refused(session, update(Transfer).where(pending).values(meta={"x": 1}))
    assert_refused(session, update(Transfer).where(pending).values(status="posted", amount=1))
    assert_refused(session, update(Transfer).where(pending).values(status="nonsense"))


def test_a_pending_transfer_settles_once_through_the_ledger(session, ids):
    posted = ledger.post(session, transfer_id=ids["hold"], now=NOW)
    session.commit()
    assert posted.status == "posted"
    assert_refused(
        session, update(Transfer).where(Transfer.id == ids["hold"]).values(status="voided")
    )
    account = session.get(LedgerAccount, ids["card"])
    assert (account.balance, account.held) == (3_500_000 - 1_200_000, 0)


def test_a_void_settles_a_hold_too(session, ids):
    voided = ledger.void(session, transfer_id=ids["hold"], now=NOW)
    session.commit()
    assert (voided.status, voided.settled_at is not None) == ("voided", True)
