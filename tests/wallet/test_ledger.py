"""The ledger keeps its invariants under any sequence of operations and under concurrency."""

import datetime as dt
import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.kit.db import is_postgres
from prakerja.wallet import rules, service
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import LedgerAccount

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
_run = itertools.count()

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["issue", "purchase", "hold", "post", "void", "refund", "reverse", "sweep"]
        ),
        st.integers(min_value=1, max_value=4_000_000),
        st.integers(min_value=0, max_value=9),
    ),
    max_size=25,
)


def _accounts(session, tag):
    budget = service.open_account(
        session, code=f"budget:{tag}", kind="budget", now=NOW, allow_negative=True
    )
    treasury = service.open_account(session, code=f"treasury:{tag}", kind="treasury", now=NOW)
    card = service.open_account(session, code=f"card:{tag}", kind="recipient", now=NOW)
    platform = service.open_account(session, code=f"platform:{tag}", kind="platform", now=NOW)
    return budget, treasury, card, platform


def _apply(session, op, amount, pick, ids, done):
    budget, treasury, card, platform = ids
    key = f"{op}:{next(_run)}"
    pending = [t for t in done if t.status == "pending"]
    posted = [t for t in done if t.status == "posted"]
    if op == "issue":
        return service.transfer(
            session, key=key, from_id=budget, to_id=card, amount=amount, kind="issue", now=NOW
        )
    if op in ("purchase", "sweep"):
        to = platform if op == "purchase" else treasury
        return service.transfer(
            session, key=key, from_id=card, to_id=to, amount=amount, kind=op, now=NOW
        )
    if op == "hold":
        return service.hold(
            session, key=key, from_id=card, to_id=platform, amount=amount, kind="purchase", now=NOW
        )
    if op in ("post", "void") and pending:
        fn = service.post if op == "post" else service.void
        return fn(session, transfer_id=pending[pick % len(pending)].id, now=NOW)
    if op == "refund":
        return service.transfer(
            session, key=key, from_id=platform, to_id=card, amount=amount, kind="refund", now=NOW
        )
    if op == "reverse" and posted:
        return service.reverse(session, transfer_id=posted[pick % len(posted)].id, now=NOW)
    return None


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_any_sequence_keeps_every_invariant(session, ops):
    ids = tuple(a.id for a in _accounts(session, next(_run)))
    done = []
    for op, amount, pick in ops:
        savepoint = session.begin_nested()
        try:
            result = _apply(session, op, amount, pick, ids, done)
            savepoint.commit()
        except (
            rules.InsufficientBalance,
            rules.TransferNotPending,
            rules.TransferNotPosted,
            rules.IdempotencyConflict,
        ):
            savepoint.rollback()
            continue
        if result is not None and result not in done:
            done.append(result)
    session.flush()
    assert check_ledger(session) == []
    card = session.get(LedgerAccount, ids[2])
    session.refresh(card)
    assert card.balance >= 0
    assert card.balance - card.held >= 0


def test_same_key_same_payload_returns_the_first_transfer(session):
    budget, _, card, _ = _accounts(session, "idem")
    first = service.transfer(
        session, key="k", from_id=budget.id, to_id=card.id, amount=3_500_000, kind="issue", now=NOW
    )
    again = service.transfer(
        session, key="k", from_id=budget.id, to_id=card.id, amount=3_500_000, kind="issue", now=NOW
    )
    assert again.id == first.id
    assert service.balance(session, card.id) == (3_500_000, 3_500_000)


def test_same_key_different_payload_is_refused_and_changes_nothing(session):
    budget, _, card, _ = _accounts(session, "idem2")
    service.transfer(
        session, key="k2", from_id=budget.id, to_id=card.id, amount=100, kind="issue", now=NOW
    )
    with pytest.raises(rules.IdempotencyConflict):
        service.transfer(
            session, key="k2", from_id=budget.id, to_id=card.id, amount=999, kind="issue", now=NOW
        )
    assert service.balance(session, card.id) == (100, 100)


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "100"])
def test_amounts_must_be_positive_integers(session, amount):
    budget, _, card, _ = _accounts(session, f"amt{next(_run)}")
    with pytest.raises(rules.BadAmount):
        service.transfer(
            session,
            key=f"bad{next(_run)}",
            from_id=budget.id,
            to_id=card.id,
            amount=amount,
            kind="issue",
            now=NOW,
        )


def test_a_hold_reserves_the_balance_until_posted_or_voided(session):
    budget, _, card, platform = _accounts(session, "hold")
    service.transfer(
        session, key="i", from_id=budget.id, to_id=card.id, amount=1000, kind="issue", now=NOW
    )
    h = service.hold(
        session, key="h", from_id=card.id, to_id=platform.id, amount=800, kind="purchase", now=NOW
    )
    assert service.balance(session, card.id) == (1000, 200)
    with pytest.raises(rules.InsufficientBalance):
        service.hold(
            session,
            key="h2",
            from_id=card.id,
            to_id=platform.id,
            amount=300,
            kind="purchase",
            now=NOW,
        )
    service.void(session, transfer_id=h.id, now=NOW)
    assert service.balance(session, card.id) == (1000, 1000)
    with pytest.raises(rules.TransferNotPending):
        service.post(session, transfer_id=h.id, now=NOW)
    assert check_ledger(session) == []


def test_concurrent_purchases_never_overspend_one_card(db):
    """Eight threads try to spend 1,000,000 ten times each from a 3,500,000 card."""
    with db.transaction() as s:
        budget, _, card, platform = _accounts(s, "race")
        service.transfer(
            s,
            key="race-issue",
            from_id=budget.id,
            to_id=card.id,
            amount=3_500_000,
            kind="issue",
            now=NOW,
        )
        card_id, platform_id = card.id, platform.id
    ok, refused, errors = [], [], []
    barrier = threading.Barrier(8)

    def buyer(n):
        barrier.wait()
        for i in range(10):
            try:
                with db.transaction() as s:
                    service.transfer(
                        s,
                        key=f"race:{n}:{i}",
                        from_id=card_id,
                        to_id=platform_id,
                        amount=1_000_000,
                        kind="purchase",
                        now=NOW,
                    )
                ok.append(1)
            except rules.InsufficientBalance:
                refused.append(1)
            except Exception as exc:  # SQLite may report "database is locked" under contention
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.transaction() as s:
        assert service.balance(s, card_id) == (500_000, 500_000)
        assert check_ledger(s) == []
        if is_postgres(s):
            assert errors == []
    assert len(ok) == 3


def test_two_requests_opening_the_same_account_at_once_both_get_it(db):
    # Found by the purchase benchmark: the first purchases of a new platform raced to create
    # its payable account and all but one failed with a unique violation (HTTP 500).
    if not is_postgres(db.engine):
        pytest.skip("SQLite has one writer at a time; the race needs concurrent writers")
    first = db.sessions()
    made = service.open_account(first, code="platform:race", kind="platform", now=NOW)
    got: list[int] = []

    def second() -> None:
        with db.transaction() as s:  # waits on the first one's uncommitted row
            got.append(service.open_account(s, code="platform:race", kind="platform", now=NOW).id)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # blocked, not failed
    first.commit()
    thread.join(timeout=10)
    first.close()
    assert got == [made.id]
    with db.transaction() as s:
        assert s.query(LedgerAccount).filter_by(code="platform:race").count() == 1


def test_a_twin_hold_with_the_same_key_waits_then_gets_the_first_and_holds_nothing(db):
    """A retried call racing its original: the twin's insert waits on the first's uncommitted
    key, then answers the first's transfer; the amount is held once."""
    if not is_postgres(db.engine):
        pytest.skip("SQLite has one writer at a time; the race needs concurrent writers")
    with db.transaction() as s:
        budget, _, card, platform = _accounts(s, "twin")
        service.transfer(
            s, key="twin-issue", from_id=budget.id, to_id=card.id, amount=900, kind="issue", now=NOW
        )
        card_id, platform_id = card.id, platform.id

    def hold(s):
        return service.hold(
            s, key="twin-hold", from_id=card_id, to_id=platform_id, amount=400, kind="p", now=NOW
        )

    first = db.sessions()
    made = hold(first)
    got: list[int] = []

    def twin() -> None:
        with db.transaction() as s:
            got.append(hold(s).id)

    thread = threading.Thread(target=twin)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # blocked on the key, not failed
    first.commit()
    thread.join(timeout=10)
    first.close()
    assert got == [made.id]
    with db.transaction() as s:
        assert service.balance(s, card_id) == (900, 500)
        assert check_ledger(s) == []
