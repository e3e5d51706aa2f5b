"""The daily scan that cancels orders their platform never confirmed: money, seat and platform
settled as a platform cancellation would; the first purchase stays recorded; reruns change
nothing."""

import datetime as dt

import pytest
from sqlalchemy import select

from prakerja.kit import jobs
from prakerja.marketplace import rules, service_order
from prakerja.marketplace.jobs import CANCEL_UNCONFIRMED
from prakerja.marketplace.model import Course, Order, Partner, WebhookDelivery
from prakerja.wallet import service as ledger
from prakerja.wallet import service_card
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model import Transfer
from tests.marketplace.conftest import NOW, make_buyer, make_course, make_partner
from tests.marketplace.test_service_purchase import _buy

BALANCE, PRICE = 3_500_000, 1_000_000
OVERDUE = NOW + rules.CONFIRM_WITHIN + dt.timedelta(seconds=1)


@pytest.fixture
def shop(db):
    with db.transaction() as s:
        platform, provider = make_partner(s, "platform"), make_partner(s, "provider")
        course = make_course(s, platform, provider, price=PRICE, capacity=5, mode="webinar")
        return platform.id, course.id


def _orders(db, course_id):
    """Three buyers: one left pending since NOW, one pending since a day later, one whose
    order the platform confirmed at NOW; returns (buyer, order id) of each."""
    placed = []
    with db.transaction() as s:
        course = s.get(Course, course_id)
        for i, at in enumerate((NOW, NOW + dt.timedelta(days=1), NOW)):
            buyer = make_buyer(s)
            placed.append((buyer, _buy(s, buyer, course, key=f"key-0000{i}", now=at).id))
        service_order.confirm_order(
            s,
            partner=s.get(Partner, course.platform_id),
            order_public_id=s.get(Order, placed[2][1]).public_id,
            now=NOW,
        )
    return placed


def _cancellations(s):
    return s.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "order.cancelled"))


def test_an_order_left_unconfirmed_too_long_is_cancelled_and_a_rerun_changes_nothing(db, shop):
    _, course_id = shop
    (stale, stale_id), (young, young_id), (_, confirmed_id) = _orders(db, course_id)
    with db.transaction() as s:  # three days exactly: not yet
        assert service_order.cancel_unconfirmed_orders(s, now=NOW + rules.CONFIRM_WITHIN) == []
    with db.transaction() as s:
        (order,) = service_order.cancel_unconfirmed_orders(s, now=OVERDUE)
        assert order.id == stale_id
    with db.transaction() as s:
        assert service_order.cancel_unconfirmed_orders(s, now=OVERDUE) == []  # a rerun
        order = s.get(Order, stale_id)
        assert (order.status, order.cancel_reason) == ("cancelled", "not_confirmed_by_platform")
        assert s.get(Transfer, order.hold_transfer_id).status == "voided"
        assert ledger.balance(s, stale.account_code) == (BALANCE, BALANCE)
        assert s.get(Course, course_id).seats_taken == 2
        (event,) = _cancellations(s).all()
        assert (event.payload["order_id"], event.payload["reason"]) == (
            order.public_id,
            "not_confirmed_by_platform",
        )
        assert service_card.get_card(s, stale.card_id).first_purchase_at == NOW
        assert not service_order.has_unfinished_course(s, stale.card_id)
        assert s.get(Order, young_id).status == "pending"
        assert ledger.balance(s, young.account_code) == (BALANCE, BALANCE - PRICE)
        assert s.get(Order, confirmed_id).status == "confirmed"
        assert check_ledger(s) == []


def test_the_scan_is_scheduled_daily_and_runs_as_a_job(db, shop, monkeypatch):
    _, course_id = shop
    (_, stale_id), (_, young_id), _ = _orders(db, course_id)
    assert jobs.SCHEDULE[CANCEL_UNCONFIRMED][0] == 2  # 02:00 in Jakarta
    monkeypatch.setattr(jobs, "SCHEDULE", {CANCEL_UNCONFIRMED: jobs.SCHEDULE[CANCEL_UNCONFIRMED]})
    monkeypatch.setattr(jobs, "INTERVALS", {})
    at = NOW + dt.timedelta(days=3, hours=1)  # 1 December, 11:00 in Jakarta
    monkeypatch.setattr(jobs, "utc_now", lambda: at)
    assert jobs.tick(db, at) == 1
    assert jobs.tick(db, at + dt.timedelta(hours=1)) == 0  # once a day
    jobs.run_until_idle(db)
    with db.transaction() as s:
        assert s.get(Order, stale_id).status == "cancelled"
        assert s.get(Order, young_id).status == "pending"
        statuses = s.scalars(select(jobs.Job.status).where(jobs.Job.kind == CANCEL_UNCONFIRMED))
        assert statuses.all() == ["done"]
