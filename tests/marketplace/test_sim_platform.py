"""The simulated platform, as real servers on loopback: it receives our signed webhooks and
drives the partner API with slow, duplicate, replayed and out-of-order calls."""

import time

import pytest
from sqlalchemy import select

from prakerja.kit import jobs
from prakerja.marketplace import service_catalogue, service_purchase
from prakerja.marketplace.model import Course, Order, Partner, WebhookDelivery
from prakerja.sim.platform import Behaviour, PlatformClient, make_app, sample_courses
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from tests.livesrv import serve
from tests.marketplace.conftest import NOW, make_buyer, sms_code


def _wait(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _point_webhooks(db, partner_id, url):
    with db.transaction() as s:
        s.get(Partner, partner_id).webhook_url = url


def _buy(db, course_public_id):
    with db.transaction() as s:
        buyer = make_buyer(s)
        order = service_purchase.start_purchase(
            s,
            account_id=buyer.account_id,
            course_public_id=course_public_id,
            card_number=buyer.card_number,
            key="sim-0001",
            now=NOW,
        )
        service_purchase.confirm_purchase(
            s,
            account_id=buyer.account_id,
            order_public_id=order.public_id,
            code=sms_code(s, buyer.phone),
            now=NOW,
        )
        return buyer, order.public_id


def _order(db, public_id):
    with db.sessions() as s:
        return s.scalar(select(Order).where(Order.public_id == public_id))


@pytest.fixture
def live(app, db, market):
    with serve(app) as base_url:
        yield base_url


def test_the_platform_publishes_gets_the_webhook_and_confirms_through_the_api(db, live, market):
    behaviour = Behaviour(slow_s=0.05, duplicate=True, redeem_first=True)
    client = PlatformClient(live, market.keys.client_id, market.keys.secret, behaviour)
    sim_app, inbox = make_app(client)
    with serve(sim_app) as sim_url:
        published = client.publish_course(sample_courses(market.provider.code, 1)[0])
        assert published.status_code == 200, published.text
        course_id = published.json()["course"]["id"]
        assert [code for _, code, _ in client.log] == [200, 200]  # the duplicate changed nothing
        assert client.log[1][2]["changed"] is False
        sched = client.add_schedule(
            course_id,
            {
                "external_ref": "s1",
                "starts_at": "2026-12-01T02:00:00Z",
                "ends_at": "2026-12-01T04:00:00Z",
            },
        )
        assert sched.status_code == 200
        with db.transaction() as s:
            course = s.scalar(select(Course).where(Course.public_id == course_id))
            service_catalogue.assess_course(
                s, course_id=course.id, approve=True, actor="assessor", now=NOW
            )
        _point_webhooks(db, market.platform.id, f"{sim_url}/webhooks")
        buyer, order_id = _buy(db, course_id)
        assert jobs.run_until_idle(db) >= 1
        assert _wait(lambda: _order(db, order_id).voucher_redeemed_at is not None)
    assert len(inbox.events) == 1
    assert inbox.refused == 0
    codes = [(path.rsplit("/", 1)[-1], code) for path, code, _ in client.log[4:]]
    assert codes[:2] == [("redeem", 409), ("redeem", 409)]  # out of order: not yet confirmed
    assert ("confirm", 200) in codes
    assert _order(db, order_id).status == "confirmed"
    with db.sessions() as s:
        assert ledger.balance(s, buyer.account_code) == (2_750_000, 2_750_000)
        assert check_ledger(s) == []


def test_a_byte_identical_replay_is_refused_by_our_api(live, market):
    client = PlatformClient(live, market.keys.client_id, market.keys.secret)
    course = sample_courses(market.provider.code, 1)[0]
    assert client.replay("POST", "/api/partner/v1/courses", course) == (200, 401)


def test_a_webhook_the_platform_refuses_is_retried_with_backoff(db, live, market):
    client = PlatformClient(live, market.keys.client_id, "a-different-secret")
    sim_app, inbox = make_app(client, auto_confirm=False)
    with serve(sim_app) as sim_url:
        _point_webhooks(db, market.platform.id, f"{sim_url}/webhooks")
        _, order_id = _buy(db, market.course.public_id)
        jobs.run_until_idle(db)
    assert inbox.refused == 1
    with db.sessions() as s:
        delivery = s.scalar(select(WebhookDelivery))
        assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 1, 401)
        queued = s.scalars(
            select(jobs.Job).where(
                jobs.Job.kind == "marketplace.deliver_webhook", jobs.Job.status == "queued"
            )
        ).all()
        assert len(queued) == 1
        assert queued[0].run_after > NOW
    assert _order(db, order_id).status == "pending"
