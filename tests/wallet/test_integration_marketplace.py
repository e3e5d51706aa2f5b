"""Revoking or closing a card settles the marketplace: an order still awaiting the platform's
confirmation is cancelled (hold voided, seat released, platform told) and no hold is orphaned,
on every path (direct revoke, the year-end and spend-rest sweeps); a refund after it goes on to
the treasury. An order placed by the first-purchase deadline keeps the card from revocation."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from prakerja.kit import jobs
from prakerja.kit.clock import JAKARTA
from prakerja.marketplace import rules, service_order, service_purchase
from prakerja.marketplace.jobs import cancel_voided_orders
from prakerja.marketplace.model import Course, Order, Partner, WebhookDelivery
from prakerja.registration.model_policy import ListedPerson
from prakerja.wallet import jobs as card_jobs
from prakerja.wallet import service as ledger
from prakerja.wallet import service_card
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Transfer
from prakerja.wallet.rules import TransferNotPending
from tests.marketplace.conftest import NOW, make_buyer, make_course, make_partner, sms_code

BALANCE, PRICE = 3_500_000, 1_000_000
AFTER_DEADLINE = dt.date(2026, 12, 14)  # cards issued on NOW must buy by 13 December


@pytest.fixture
def shop(db):
    with db.transaction() as s:
        platform, provider = make_partner(s, "platform"), make_partner(s, "provider")
        return platform.id, make_course(s, platform, provider, price=PRICE, capacity=5).id


def _placed(db, course_id, *, confirm=False):
    """A buyer whose order passed the SMS code (pending), optionally confirmed by the platform."""
    with db.transaction() as s:
        buyer = make_buyer(s)
        course = s.get(Course, course_id)
        order = service_purchase.start_purchase(
            s,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=buyer.card_number,
            key="key-00001",
            now=NOW,
        )
        order = service_purchase.confirm_purchase(
            s,
            account_id=buyer.account_id,
            order_public_id=order.public_id,
            code=sms_code(s, buyer.phone),
            now=NOW,
        )
        if confirm:
            service_order.confirm_order(
                s,
                partner=s.get(Partner, order.platform_id),
                order_public_id=order.public_id,
                now=NOW,
            )
        return buyer, order.id


def _run_jobs(db):
    with db.transaction() as s:  # the SMS gateway is not under test here
        s.execute(
            jobs.Job.__table__.update()
            .where(jobs.Job.kind == "notify.deliver")
            .values(status="done")
        )
    jobs.run_until_idle(db)
    with db.transaction() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(jobs.Job)
                .where(jobs.Job.status != "done", jobs.Job.kind != "notify.deliver")
            )
            == 0
        )


def _cancellations(s):
    return s.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.event == "order.cancelled")
        .order_by(WebhookDelivery.id)
    ).all()


def _assert_cancelled(s, order_id, reason, *, seats_taken=0):
    order = s.get(Order, order_id)
    assert (order.status, order.cancel_reason) == ("cancelled", reason)
    assert order.closed_at is not None
    assert s.get(Transfer, order.hold_transfer_id).status == "voided"
    assert s.get(Course, order.course_id).seats_taken == seats_taken
    (event,) = _cancellations(s)
    assert event.payload["order_id"] == order.public_id
    assert event.payload["reason"] == reason
    assert not service_order.has_unfinished_course(s, order.card_id)
    assert check_ledger(s) == []


def test_revoking_cancels_the_order_awaiting_the_platform(db, shop):
    _, course_id = shop
    buyer, order_id = _placed(db, course_id)
    with db.transaction() as s:
        assert s.get(Course, course_id).seats_taken == 1
        service_card.revoke(s, card_id=buyer.card_id, reason="fraud", now=NOW)
    with db.transaction() as s:  # the money is settled in the revoking transaction itself
        assert check_ledger(s) == []
        assert ledger.balance(s, buyer.account_code) == (0, 0)
        assert ledger.account_by_code(s, "treasury").balance == BALANCE
        job = s.scalar(select(jobs.Job).where(jobs.Job.kind == service_card.CANCEL_VOIDED_ORDERS))
        assert job.payload["card_id"] == buyer.card_id
    _run_jobs(db)
    with db.transaction() as s:
        _assert_cancelled(s, order_id, "card_revoked:fraud")


def test_a_platform_confirming_before_the_marketplace_job_is_refused(db, shop):
    platform_id, course_id = shop
    buyer, order_id = _placed(db, course_id)
    with db.transaction() as s:
        service_card.revoke(s, card_id=buyer.card_id, reason="fraud", now=NOW)
        public_id = s.get(Order, order_id).public_id
    with pytest.raises(TransferNotPending), db.transaction() as s:
        service_order.confirm_order(
            s, partner=s.get(Partner, platform_id), order_public_id=public_id, now=NOW
        )
    _run_jobs(db)
    with db.transaction() as s:
        _assert_cancelled(s, order_id, "card_revoked:fraud")
        with pytest.raises(rules.OrderStateConflict):
            service_order.confirm_order(
                s, partner=s.get(Partner, platform_id), order_public_id=public_id, now=NOW
            )


AFTER = {  # what the partner does after the deadline -> the order's status
    "confirmed": "confirmed",
    "cancelled": "cancelled",
    "refunded": "refunded",
    "never_confirmed": "cancelled",
}


@pytest.mark.parametrize("then", list(AFTER))
def test_an_order_placed_by_the_deadline_keeps_the_card_whatever_the_partner_does(db, shop, then):
    """The citizen's purchase (code accepted, price held) is the purchase the deadline asks
    for: a platform confirming after the deadline, a provider cancelling (before or after
    confirming), or a platform never answering cannot get the card revoked and the citizen
    blacklisted."""
    platform_id, course_id = shop
    buyer, order_id = _placed(db, course_id, confirm=then == "refunded")
    late = dt.datetime.combine(AFTER_DEADLINE, dt.time(9), tzinfo=JAKARTA)
    with db.transaction() as s:
        public_id = s.get(Order, order_id).public_id
        if then == "confirmed":
            service_order.confirm_order(
                s, partner=s.get(Partner, platform_id), order_public_id=public_id, now=late
            )
        elif then in ("cancelled", "refunded"):
            provider = s.get(Partner, s.get(Course, course_id).provider_id)
            service_order.cancel_order(
                s, partner=provider, order_public_id=public_id, reason="trainer ill", now=late
            )
        else:
            service_order.cancel_unconfirmed_orders(s, now=late)
        assert s.get(Order, order_id).status == AFTER[then]
        assert card_jobs.scan_deadlines(s, today=AFTER_DEADLINE, now=late)["revoke"] == 0
    with db.transaction() as s:
        card = service_card.get_card(s, buyer.card_id)
        assert (card.status, card.first_purchase_at) == ("active", NOW)
        assert s.scalar(select(func.count()).select_from(ListedPerson)) == 0
        assert check_ledger(s) == []


def test_year_end_cancels_a_pending_order_and_keeps_a_confirmed_one(db, shop, monkeypatch):
    platform_id, course_id = shop
    _, pending_id = _placed(db, course_id)
    _, confirmed_id = _placed(db, course_id, confirm=True)
    new_year = dt.datetime(2027, 1, 1, tzinfo=JAKARTA)
    monkeypatch.setattr(jobs, "utc_now", lambda: new_year)  # the workers' clock
    with db.transaction() as s:
        assert card_jobs.year_end_cutoff(s, year=2026, now=new_year) == 2
    _run_jobs(db)
    with db.transaction() as s:
        assert s.get(Order, confirmed_id).status == "confirmed"
        assert ledger.account_by_code(s, f"platform:{platform_id}").balance == PRICE
        _assert_cancelled(s, pending_id, "card_closed:year_end", seats_taken=1)
        assert ledger.account_by_code(s, "treasury").balance == 2 * BALANCE - PRICE


def test_the_spend_rest_sweep_cancels_a_second_pending_order(db, shop):
    platform_id, course_id = shop
    buyer, first_id = _placed(db, course_id, confirm=True)
    with db.transaction() as s:
        service_order.mark_order_completed(s, order_id=first_id, now=NOW)
        card = service_card.record_first_course_finished(s, card_id=buyer.card_id, now=NOW)
        course = s.get(Course, course_id)
        second = service_purchase.start_purchase(
            s,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=buyer.card_number,
            key="key-00002",
            now=NOW,
        )
        service_purchase.confirm_purchase(
            s,
            account_id=buyer.account_id,
            order_public_id=second.public_id,
            code=sms_code(s, buyer.phone),
            now=NOW,
        )
        today = card.spend_rest_deadline + dt.timedelta(days=1)
        assert card_jobs.scan_deadlines(s, today=today, now=NOW)["spend_rest"] == 1
        second_id = second.id
    _run_jobs(db)
    with db.transaction() as s:
        assert service_card.get_card(s, buyer.card_id).status == "closed"
        assert s.get(Order, first_id).status == "completed"
        _assert_cancelled(s, second_id, "card_closed:spend_rest", seats_taken=1)
        assert ledger.account_by_code(s, f"platform:{platform_id}").balance == PRICE


@pytest.mark.parametrize("end", ["revoke", "close"])
def test_a_refund_after_the_card_ended_goes_on_to_the_treasury(db, shop, end):
    """A provider cancels a confirmed course after the card was revoked or closed: the refund
    reaches the card and moves on to the treasury in the same transaction, once."""
    platform_id, course_id = shop
    buyer, order_id = _placed(db, course_id, confirm=True)
    with db.transaction() as s:
        if end == "revoke":
            service_card.revoke(s, card_id=buyer.card_id, reason="fraud", now=NOW)
        else:
            service_card.sweep_remaining(s, card_id=buyer.card_id, reason="year_end", now=NOW)
        public_id = s.get(Order, order_id).public_id
        assert ledger.account_by_code(s, "treasury").balance == BALANCE - PRICE
    for _ in range(2):  # a repeated cancellation changes nothing
        with db.transaction() as s:
            order = service_order.cancel_order(
                s,
                partner=s.get(Partner, platform_id),
                order_public_id=public_id,
                reason="trainer ill",
                now=NOW,
            )
            assert order.status == "refunded"
    with db.transaction() as s:
        assert ledger.balance(s, buyer.account_code) == (0, 0)
        assert ledger.account_by_code(s, "treasury").balance == BALANCE
        assert ledger.account_by_code(s, f"platform:{platform_id}").balance == 0
        (sweep,) = s.scalars(select(Transfer).where(Transfer.key.like("sweep:refund:%"))).all()
        assert sweep.key == f"sweep:refund:{order.refund_transfer_id}"
        status = "revoked" if end == "revoke" else "closed"
        assert sweep.meta["reason"] == f"refund_to_{status}_card"
        assert (sweep.amount, sweep.meta["card_id"]) == (PRICE, buyer.card_id)
        assert len(_cancellations(s)) == 1
        assert check_ledger(s) == []


def test_a_refund_to_an_active_card_stays_on_the_card(db, shop):
    platform_id, course_id = shop
    buyer, order_id = _placed(db, course_id, confirm=True)
    with db.transaction() as s:
        service_order.cancel_order(
            s,
            partner=s.get(Partner, platform_id),
            order_public_id=s.get(Order, order_id).public_id,
            reason="trainer ill",
            now=NOW,
        )
    with db.transaction() as s:
        assert ledger.balance(s, buyer.account_code) == (BALANCE, BALANCE)
        assert s.scalar(select(Transfer).where(Transfer.key.like("sweep:%"))) is None
        assert check_ledger(s) == []


def test_the_marketplace_job_is_idempotent(db, shop):
    _, course_id = shop
    buyer, order_id = _placed(db, course_id)
    with db.transaction() as s:
        service_card.revoke(s, card_id=buyer.card_id, reason="fraud", now=NOW)
    _run_jobs(db)
    with db.transaction() as s:
        payload = s.scalar(
            select(jobs.Job.payload).where(jobs.Job.kind == service_card.CANCEL_VOIDED_ORDERS)
        )
        cancel_voided_orders(s, payload, NOW + dt.timedelta(hours=1))
        _assert_cancelled(s, order_id, "card_revoked:fraud")  # unchanged, one webhook only


def test_a_card_without_an_open_hold_enqueues_nothing(db):
    with db.transaction() as s:
        buyer = make_buyer(s)
        service_card.revoke(s, card_id=buyer.card_id, reason="fraud", now=NOW)
        assert (
            s.scalar(
                select(func.count())
                .select_from(jobs.Job)
                .where(jobs.Job.kind == service_card.CANCEL_VOIDED_ORDERS)
            )
            == 0
        )
    assert service_card.CANCEL_VOIDED_ORDERS in jobs.HANDLERS
