"""`wallet check` on a broken ledger: each corruption it looks for is found and named."""

import pytest

from prakerja.wallet import service as ledger
from prakerja.wallet import service_card
from prakerja.wallet.check import check_ledger
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
