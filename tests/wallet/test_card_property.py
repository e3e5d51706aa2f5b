"""Any sequence of card operations keeps every ledger invariant; a refund of a paid purchase
may come after its card was revoked or closed (the money goes on to the treasury)."""

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.kit.errors import DomainError
from prakerja.wallet import service as ledger
from prakerja.wallet import service_card
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model_card import Card
from tests.wallet.card_factories import NOW, make_person, payload

_serial = itertools.count(1000)
OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["issue", "hold", "post", "void", "purchase", "refund", "revoke", "sweep", "finish"]
        ),
        st.integers(0, 5),
        st.integers(1, 4_000_000),
    ),
    max_size=30,
)


def _apply(session, op, who, amount, state):
    people, platform = state["people"], state["platform"]
    holds, paid = state["holds"], state["paid"]  # (transfer id, card id)
    person = people[who % len(people)]
    card = service_card.card_for_person(session, person.id)
    n = next(_serial)
    if op == "issue":
        service_card.issue_card(session, now=NOW, **payload(person))
    elif op in ("post", "void") and holds:
        transfer_id, card_id = holds[amount % len(holds)]
        fn = ledger.post if op == "post" else ledger.void
        fn(session, transfer_id=transfer_id, now=NOW)
        if op == "post":
            paid.append((transfer_id, card_id))
    elif op == "refund" and paid:  # a platform refunds a paid purchase, whatever the card's status
        transfer_id, card_id = paid[amount % len(paid)]
        service_card.refund_purchase(session, card_id=card_id, transfer_id=transfer_id, now=NOW)
    elif card is None:
        return
    elif op in ("hold", "purchase"):
        fn = ledger.hold if op == "hold" else ledger.transfer
        t = fn(
            session,
            key=f"p{n}",
            from_id=card.ledger_account_id,
            to_id=platform,
            amount=amount,
            kind="purchase",
            now=NOW,
        )
        service_card.record_purchase_placed(
            session, card=service_card.get_card(session, card.id), now=NOW
        )
        (holds if op == "hold" else paid).append((t.id, card.id))
    elif op == "revoke":
        service_card.revoke(session, card_id=card.id, reason="prop", now=NOW)
    elif op == "sweep":
        service_card.sweep_remaining(session, card_id=card.id, reason="year_end", now=NOW)
    elif op == "finish":
        service_card.record_first_course_finished(
            session, card_id=card.id, now=NOW + dt.timedelta(days=3)
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS)
def test_any_card_sequence_keeps_the_ledger_sound(session, ops):
    people = [make_person(session, next(_serial)) for _ in range(3)]
    # The platform starts with money, as other buyers paid it.
    platform = ledger.open_account(
        session, code=f"platform:{next(_serial)}", kind="platform", now=NOW
    ).id
    budget, _ = service_card.system_accounts(session, NOW)
    ledger.transfer(
        session,
        key=f"seed{next(_serial)}",
        from_id=budget,
        to_id=platform,
        amount=10_000_000,
        kind="seed",
        now=NOW,
    )
    state = {"people": people, "platform": platform, "holds": [], "paid": []}
    for op, who, amount in ops:
        savepoint = session.begin_nested()
        try:
            _apply(session, op, who, amount, state)
            savepoint.commit()
        except DomainError:
            savepoint.rollback()
    session.flush()
    assert check_ledger(session) == []
    for card in session.query(Card).filter(Card.person_id.in_([p.id for p in people])):
        balance, available = ledger.balance(session, card.ledger_account_id)
        assert balance >= 0
        assert available >= 0
        if card.status != "active":
            assert balance == 0
            assert available == 0
