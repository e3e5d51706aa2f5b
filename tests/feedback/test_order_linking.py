"""A complaint that quotes an order id is linked to that order (the agent sees its status, and
the ticket heals with it) when it comes from the buyer or from someone unknown; never when
another citizen quotes it."""

from __future__ import annotations

import uuid

from prakerja.feedback.model import Ticket
from prakerja.feedback.service_intake import ingest
from prakerja.marketplace.model import Order
from tests.marketplace.conftest import make_buyer, make_course, make_partner

from .desk_helpers import NOW, chat


def _order(db) -> tuple[str, str, int]:
    """(buyer's email, the order's public id, its row id) for an order on a buyer's card."""
    with db.transaction() as s:
        buyer = make_buyer(s)
        course = make_course(s, make_partner(s, "platform"), make_partner(s, "provider"))
        order = Order(
            public_id=uuid.uuid4().hex,
            card_id=buyer.card_id,
            course_id=course.id,
            platform_id=course.platform_id,
            amount=course.price,
            status="pending",
            idempotency_key=uuid.uuid4().hex,
            created_at=NOW,
        )
        s.add(order)
        s.flush()
        from prakerja.identity.model import Account

        return s.get(Account, buyer.account_id).email, order.public_id, order.id


def _ticket_record(db, text: str, **who) -> tuple[str | None, int | None]:
    with db.transaction() as s:
        message, _ = ingest(
            s,
            chat(uuid.uuid4().hex, text, channel=who.pop("channel", "email"), **who),
            now=NOW,
        )
        ticket = s.get(Ticket, message.ticket_id)
        return (ticket.record_kind, ticket.record_id) if ticket else (None, None)


TEXT = "Voucher pesanan {} belum bisa dipakai di platform, tolong dibantu segera"


def test_the_buyer_quoting_the_order_gets_it_linked(db):
    email, public_id, order_id = _order(db)
    assert _ticket_record(db, TEXT.format(public_id), author_email=email) == (
        "marketplace.order",
        order_id,
    )


def test_an_unknown_writer_quoting_it_gets_it_linked(db):
    _, public_id, order_id = _order(db)
    assert _ticket_record(db, TEXT.format(public_id), channel="social", author_handle="@warga") == (
        "marketplace.order",
        order_id,
    )


def test_another_citizen_quoting_it_does_not(db):
    _, public_id, _ = _order(db)
    other_email, _, _ = _order(db)
    kind, _ = _ticket_record(db, TEXT.format(public_id), author_email=other_email)
    assert kind != "marketplace.order"
