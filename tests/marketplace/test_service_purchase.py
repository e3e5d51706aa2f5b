"""Buying a course: SMS code, the purchase rules, the hold, and refunds on cancellation."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from prakerja.identity.errors import CodeExpired, WrongCode
from prakerja.kit.jobs import Job
from prakerja.marketplace import rules, service_order, service_purchase
from prakerja.marketplace.model import Order, WebhookDelivery
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Transfer
from tests.marketplace.conftest import (
    NOW,
    make_buyer,
    make_course,
    make_partner,
    sms_code,
)

BALANCE = 3_500_000


@pytest.fixture
def shop(session):
    platform = make_partner(session, "platform")
    provider = make_partner(session, "provider")
    course = make_course(session, platform, provider, price=1_000_000)
    return platform, provider, course


def _start(session, buyer, course, key="key-00001", now=NOW):
    return service_purchase.start_purchase(
        session,
        account_id=buyer.account_id,
        course_public_id=course.public_id,
        card_number=buyer.card_number,
        key=key,
        now=now,
    )


def _confirm(session, buyer, order, code):
    return service_purchase.confirm_purchase(
        session, account_id=buyer.account_id, order_public_id=order.public_id, code=code, now=NOW
    )


def _buy(session, buyer, course, key="key-00001", now=NOW):
    order = _start(session, buyer, course, key, now)
    code = sms_code(session, buyer.phone)
    return service_purchase.confirm_purchase(
        session, account_id=buyer.account_id, order_public_id=order.public_id, code=code, now=now
    )


def test_a_right_code_holds_the_price_and_tells_the_platform(session, shop):
    platform, _, course = shop
    buyer = make_buyer(session)
    order = _buy(session, buyer, course)
    assert order.status == "pending"
    assert ledger.balance(session, buyer.account_code) == (BALANCE, BALANCE - 1_000_000)
    event = session.scalar(select(WebhookDelivery).where(WebhookDelivery.partner_id == platform.id))
    assert event.event == "order.placed"
    assert event.payload["order_id"] == order.public_id
    assert (
        session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "marketplace.deliver_webhook")
        )
        == 1
    )
    assert check_ledger(session) == []


def test_a_price_above_the_balance_is_refused_and_nothing_is_sent(session, shop):
    platform, provider, _ = shop
    dear = make_course(session, platform, provider, price=BALANCE + 1)
    buyer = make_buyer(session)
    with pytest.raises(rules.PriceAboveBalance):
        service_purchase.start_purchase(
            session,
            account_id=buyer.account_id,
            course_public_id=dear.public_id,
            card_number=buyer.card_number,
            key="k-123456",
            now=NOW,
        )
    assert ledger.balance(session, buyer.account_code) == (BALANCE, BALANCE)


def test_a_balance_that_shrank_before_the_code_came_refuses_the_hold_and_leaves_nothing(
    session, shop
):
    """The hold's guarded UPDATE is the real balance check: here it refuses, inside the
    purchase's savepoint (the hold has none of its own), and neither the hold's transfer nor
    the order's claim survives."""
    _, _, course = shop
    buyer = make_buyer(session)
    order = _start(session, buyer, course, "key-shrunk")
    treasury = ledger.open_account(session, code="treasury", kind="treasury", now=NOW)
    ledger.transfer(  # e.g. a sweep: 3,000,000 leaves, 500,000 stays
        session,
        key="sweep-test",
        from_id=buyer.account_code,
        to_id=treasury.id,
        amount=3_000_000,
        kind="sweep",
        now=NOW,
    )
    with pytest.raises(rules.PriceAboveBalance):
        _confirm(session, buyer, order, sms_code(session, buyer.phone))
    session.refresh(order)
    assert (order.status, order.hold_transfer_id) == ("awaiting_code", None)
    assert ledger.balance(session, buyer.account_code) == (500_000, 500_000)
    assert session.scalar(select(Transfer).where(Transfer.key == f"order:{order.id}")) is None
    assert check_ledger(session) == []


def test_a_second_course_before_finishing_the_first_is_refused(session, shop):
    platform, provider, course = shop
    other = make_course(session, platform, provider, price=200_000)
    buyer = make_buyer(session)
    first = _buy(session, buyer, course)
    with pytest.raises(rules.UnfinishedCourse):
        _buy(session, buyer, other, key="key-00002")
    service_order.confirm_order(session, partner=platform, order_public_id=first.public_id, now=NOW)
    with pytest.raises(rules.UnfinishedCourse):
        _buy(session, buyer, other, key="key-00003")
    service_order.mark_order_completed(session, order_id=first.id, now=NOW)
    second = _buy(session, buyer, other, key="key-00004")
    assert second.status == "pending"
    assert service_order.has_unfinished_course(session, buyer.card_id)


def test_confirming_posts_the_hold_and_records_the_first_purchase(session, shop):
    platform, _, course = shop
    buyer = make_buyer(session)
    order = _buy(session, buyer, course)
    service_order.confirm_order(session, partner=platform, order_public_id=order.public_id, now=NOW)
    again = service_order.confirm_order(
        session, partner=platform, order_public_id=order.public_id, now=NOW
    )
    assert again.status == "confirmed"
    assert ledger.balance(session, buyer.account_code) == (BALANCE - 1_000_000,) * 2
    platform_acc = ledger.account_by_code(session, f"platform:{platform.id}")
    assert platform_acc.balance == 1_000_000
    from prakerja.wallet import service_card

    assert service_card.get_card(session, buyer.card_id).first_purchase_at == NOW
    assert check_ledger(session) == []


@pytest.mark.parametrize("confirm_first", [False, True])
def test_a_provider_cancellation_restores_the_whole_balance(session, shop, confirm_first):
    platform, provider, course = shop
    buyer = make_buyer(session)
    order = _buy(session, buyer, course)
    if confirm_first:
        service_order.confirm_order(
            session, partner=platform, order_public_id=order.public_id, now=NOW
        )
    done = service_order.cancel_order(
        session, partner=provider, order_public_id=order.public_id, reason="trainer ill", now=NOW
    )
    assert done.status == ("refunded" if confirm_first else "cancelled")
    assert ledger.balance(session, buyer.account_code) == (BALANCE, BALANCE)
    assert not service_order.has_unfinished_course(session, buyer.card_id)
    repeat = service_order.cancel_order(
        session, partner=provider, order_public_id=order.public_id, reason="again", now=NOW
    )
    assert repeat.status == done.status
    assert ledger.balance(session, buyer.account_code) == (BALANCE, BALANCE)
    with pytest.raises(rules.OrderStateConflict):
        service_order.confirm_order(
            session, partner=platform, order_public_id=order.public_id, now=NOW
        )
    assert check_ledger(session) == []


def test_three_wrong_codes_lock_purchases_for_an_hour(session, shop):
    _, _, course = shop
    buyer = make_buyer(session)
    order = _start(session, buyer, course, "k-lock-1")
    right = sms_code(session, buyer.phone)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(2):
        with pytest.raises(WrongCode):
            _confirm(session, buyer, order, wrong)
    with pytest.raises(service_purchase.PurchaseLocked):
        _confirm(session, buyer, order, wrong)
    with pytest.raises(service_purchase.PurchaseLocked):
        service_purchase.start_purchase(
            session,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=buyer.card_number,
            key="k-lock-2",
            now=NOW + dt.timedelta(minutes=59),
        )
    later = service_purchase.start_purchase(
        session,
        account_id=buyer.account_id,
        course_public_id=course.public_id,
        card_number=buyer.card_number,
        key="k-lock-3",
        now=NOW + dt.timedelta(minutes=61),
    )
    assert later.status == "awaiting_code"
    assert ledger.balance(session, buyer.account_code) == (BALANCE, BALANCE)


def test_an_expired_code_is_refused(session, shop):
    _, _, course = shop
    buyer = make_buyer(session)
    order = _start(session, buyer, course, "k-exp-1")
    with pytest.raises(CodeExpired):
        service_purchase.confirm_purchase(
            session,
            account_id=buyer.account_id,
            order_public_id=order.public_id,
            code=sms_code(session, buyer.phone),
            now=NOW + rules.CODE_TTL,
        )


def test_someone_elses_card_number_is_refused(session, shop):
    _, _, course = shop
    buyer, other = make_buyer(session), make_buyer(session)
    with pytest.raises(rules.CardNotUsable):
        service_purchase.start_purchase(
            session,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=other.card_number,
            key="k-other",
            now=NOW,
        )


def test_an_unverified_phone_cannot_buy(session, shop):
    _, _, course = shop
    buyer = make_buyer(session, phone_verified=False)
    with pytest.raises(rules.PhoneNotVerified):
        service_purchase.start_purchase(
            session,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=buyer.card_number,
            key="k-phone",
            now=NOW,
        )


def test_a_full_course_is_refused_and_a_cancellation_frees_the_seat(session, shop):
    platform, provider, _ = shop
    small = make_course(session, platform, provider, price=100_000, capacity=1, mode="webinar")
    first, second = make_buyer(session), make_buyer(session)
    order = _buy(session, first, small)
    with pytest.raises(rules.CourseFull):
        _buy(session, second, small)
    assert ledger.balance(session, second.account_code) == (BALANCE, BALANCE)
    service_order.cancel_order(
        session, partner=platform, order_public_id=order.public_id, reason="moved", now=NOW
    )
    assert _buy(session, second, small, key="key-00009").status == "pending"


def test_a_suspended_platform_sells_nothing(session, shop):
    platform, _, course = shop
    from prakerja.marketplace import service_partner

    service_partner.suspend(session, partner_id=platform.id, actor="staff", now=NOW)
    buyer = make_buyer(session)
    with pytest.raises(rules.CourseNotFound):
        _buy(session, buyer, course)


def test_the_same_key_returns_the_same_order_without_a_new_code(session, shop):
    _, _, course = shop
    buyer = make_buyer(session)
    first = _start(session, buyer, course, "k-same")
    code = sms_code(session, buyer.phone)
    again = _start(session, buyer, course, "k-same")
    assert again.id == first.id
    assert sms_code(session, buyer.phone) == code


# Cards made on NOW (10:00 in Jakarta, 28 November) must buy by 13 December, Jakarta time.
LAST_MINUTE = dt.datetime(2026, 12, 13, 16, 59, tzinfo=dt.UTC)  # 23:59 on 13 December
TOO_LATE = LAST_MINUTE + dt.timedelta(minutes=1)  # 00:00 on 14 December


def _card(session, buyer):
    from prakerja.wallet import service_card

    return service_card.get_card(session, buyer.card_id)


def test_the_first_purchase_counts_from_the_moment_the_citizen_places_it(session, shop):
    platform, _, course = shop
    buyer = make_buyer(session)
    order = _buy(session, buyer, course)
    assert _card(session, buyer).first_purchase_at == NOW  # placed, not yet confirmed
    service_order.confirm_order(
        session, partner=platform, order_public_id=order.public_id, now=TOO_LATE
    )
    assert _card(session, buyer).first_purchase_at == NOW


def test_nothing_bought_by_the_deadline_refuses_a_purchase_and_changes_nothing(session, shop):
    _, _, course = shop
    buyer = make_buyer(session)
    with pytest.raises(rules.FirstPurchaseDeadlinePassed) as refused:
        _start(session, buyer, course, "k-late", now=TOO_LATE)
    assert refused.value.extra == {"deadline": "2026-12-13"}
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert _buy(session, buyer, course, "k-in-time", now=LAST_MINUTE).status == "pending"


def test_a_code_entered_after_the_deadline_places_nothing(session, shop):
    _, _, course = shop
    buyer = make_buyer(session)
    order = _start(session, buyer, course, "k-edge", now=LAST_MINUTE)
    with pytest.raises(rules.FirstPurchaseDeadlinePassed):
        service_purchase.confirm_purchase(
            session,
            account_id=buyer.account_id,
            order_public_id=order.public_id,
            code=sms_code(session, buyer.phone),
            now=TOO_LATE,
        )
    session.refresh(order)
    assert (order.status, order.hold_transfer_id) == ("awaiting_code", None)
    assert _card(session, buyer).first_purchase_at is None
    assert ledger.balance(session, buyer.account_code) == (BALANCE, BALANCE)


def test_a_card_whose_order_was_cancelled_may_buy_again_after_the_deadline(session, shop):
    _, provider, course = shop
    buyer = make_buyer(session)
    order = _buy(session, buyer, course)
    service_order.cancel_order(
        session, partner=provider, order_public_id=order.public_id, reason="full", now=TOO_LATE
    )
    assert _buy(session, buyer, course, "k-again", now=TOO_LATE).status == "pending"
