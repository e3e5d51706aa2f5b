"""Partner API over HTTP: signatures (401 and nothing changed), rotation, idempotent calls."""

import json
import time

import pytest
from sqlalchemy import func, select

from prakerja.marketplace import service_partner, signing
from prakerja.marketplace.model import Course, CourseSession, Order, Partner
from prakerja.wallet import service as ledger
from prakerja.wallet.check import check_ledger
from tests.marketplace.conftest import NOW, make_buyer, make_keys, make_partner, signed
from tests.marketplace.test_service_purchase import _buy

COURSE = {
    "external_ref": "dm-101",
    "provider_code": "",
    "title": "Pemasaran digital",
    "category": "Pemasaran",
    "mode": "webinar",
    "hours": 16,
    "price": 750_000,
    "capacity": 30,
    "syllabus": "Teori dan praktik",
}


def _course_body(market, **changes):
    return COURSE | {"provider_code": market.provider.code} | changes


def _courses(db):
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Course))


def _placed_order(db, market):
    with db.transaction() as s:
        buyer = make_buyer(s)
        order = _buy(s, buyer, s.get(Course, market.course.id))
        return buyer, order.public_id


def test_a_signed_publish_creates_the_course_and_a_repeat_changes_nothing(client, db, market):
    path = "/api/partner/v1/courses"
    first = signed(client, market.keys, "POST", path, _course_body(market))
    assert first.status_code == 200, first.text
    assert first.json()["changed"] is True
    assert first.json()["course"]["status"] == "submitted"
    again = signed(client, market.keys, "POST", path, _course_body(market))
    assert again.json() == first.json() | {"changed": False}
    assert _courses(db) == 2  # the fixture's course and this one


@pytest.mark.parametrize(
    "attack",
    ["wrong_secret", "stale", "altered_body", "no_headers", "unknown_client", "other_path"],
)
def test_a_bad_signature_is_401_problem_json_and_nothing_changes(client, db, market, attack):
    path = "/api/partner/v1/courses"
    body = json.dumps(_course_body(market)).encode()
    ts = int(time.time()) - (301 if attack == "stale" else 0)
    secret = "not-the-secret" if attack == "wrong_secret" else market.keys.secret
    signed_path = "/api/partner/v1/orders/x/confirm" if attack == "other_path" else path
    headers = signing.sign(market.keys.client_id, secret, "POST", signed_path, body, ts)
    if attack == "altered_body":
        body = body.replace(b"750000", b"1")
    if attack == "unknown_client":
        headers[signing.CLIENT_HEADER] = "pk_nobody"
    if attack == "no_headers":
        headers = {}
    resp = client.post(path, content=body, headers=headers | {"Content-Type": "application/json"})
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "bad_signature"
    assert _courses(db) == 1


def test_a_replayed_request_is_refused_and_changes_nothing(client, db, market):
    _buyer, order_id = _placed_order(db, market)
    path = f"/api/partner/v1/orders/{order_id}/cancel"
    body = json.dumps({"reason": "duplicate booking"}).encode()
    headers = signing.sign(market.keys.client_id, market.keys.secret, "POST", path, body)
    headers["Content-Type"] = "application/json"
    assert client.post(path, content=body, headers=headers).status_code == 200
    replay = client.post(path, content=body, headers=headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]


def test_identical_calls_in_one_second_are_told_apart_by_their_nonces(client, db, market):
    """A client that polls or retries faster than once a second sends a fresh X-Nonce: each
    call is answered; the same nonce again is a replay."""
    _buyer, order_id = _placed_order(db, market)
    path, ts = f"/api/partner/v1/orders/{order_id}/confirm", int(time.time())

    def call(nonce, **extra):
        headers = signing.sign(market.keys.client_id, market.keys.secret, "POST", path, b"", ts,
                               nonce=nonce)  # fmt: skip
        return client.post(path, headers=headers | extra)

    first, second = call("nonce-0001"), call("nonce-0002")
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()  # confirming twice answers the same
    again = call("nonce-0001")
    assert (again.status_code, again.json()["code"]) == (401, "bad_signature")
    assert "replay" in again.json()["detail"]
    swapped = call("nonce-0003", **{signing.NONCE_HEADER: "nonce-0004"})  # not what was signed
    assert swapped.status_code == 401
    bare = signing.sign(market.keys.client_id, market.keys.secret, "POST", path, b"", ts)
    unsigned = client.post(path, headers=bare | {signing.NONCE_HEADER: "nonce-0005"})
    assert unsigned.status_code == 401  # a nonce the signature does not cover
    bad = client.post(path, headers=bare | {signing.NONCE_HEADER: "bad nonce"})
    assert (bad.status_code, bad.json()["code"]) == (401, "bad_signature")
    assert "X-Nonce" in bad.json()["detail"]


def test_a_wrong_signature_on_confirm_leaves_the_order_and_money_untouched(client, db, market):
    buyer, order_id = _placed_order(db, market)
    resp = signed(
        client, market.keys, "POST", f"/api/partner/v1/orders/{order_id}/confirm", secret="guess"
    )
    assert resp.status_code == 401
    with db.sessions() as s:
        assert s.scalar(select(Order.status).where(Order.public_id == order_id)) == "pending"
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 3_000_000)


def test_old_and_new_secrets_both_work_until_the_old_is_revoked(client, db, market):
    old = market.keys
    with db.transaction() as s:
        new = make_keys(s, market.platform)
    path = "/api/partner/v1/courses"
    assert signed(client, old, "POST", path, _course_body(market)).status_code == 200
    assert signed(client, new, "POST", path, _course_body(market, hours=20)).status_code == 200
    with db.transaction() as s:
        service_partner.revoke_credential(s, client_id=old.client_id, actor="t", now=NOW)
    assert signed(client, old, "POST", path, _course_body(market, hours=21)).status_code == 401
    assert signed(client, new, "POST", path, _course_body(market, hours=22)).status_code == 200


def test_confirm_redeem_and_cancel_are_idempotent_and_out_of_order_calls_are_409(
    client, db, market
):
    buyer, order_id = _placed_order(db, market)
    with db.sessions() as s:
        voucher = s.scalar(select(Order.voucher_code).where(Order.public_id == order_id))
    redeem = f"/api/partner/v1/vouchers/{voucher}/redeem"
    early = signed(client, market.keys, "POST", redeem)
    assert early.status_code == 409
    assert early.json()["code"] == "order_state_conflict"
    confirm = f"/api/partner/v1/orders/{order_id}/confirm"
    first = signed(client, market.keys, "POST", confirm)
    second = signed(client, market.keys, "POST", confirm)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["status"] == "confirmed"
    r1 = signed(client, market.keys, "POST", redeem)
    r2 = signed(client, market.keys, "POST", redeem)
    assert r1.json() == r2.json()
    assert r1.json()["voucher_redeemed"] is True
    with db.sessions() as s:
        assert ledger.balance(s, buyer.account_code) == (3_000_000, 3_000_000)
        assert check_ledger(s) == []
    cancel = f"/api/partner/v1/orders/{order_id}/cancel"
    c1 = signed(client, market.keys, "POST", cancel, {"reason": "course withdrawn"})
    c2 = signed(client, market.keys, "POST", cancel, {"reason": "course withdrawn"})
    assert c1.json()["status"] == c2.json()["status"] == "refunded"
    late = signed(client, market.keys, "POST", confirm)
    assert late.status_code == 409
    with db.sessions() as s:
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 3_500_000)
        assert check_ledger(s) == []


def test_another_platforms_order_is_not_found(client, db, market):
    _, order_id = _placed_order(db, market)
    from tests.marketplace.conftest import make_partner

    with db.transaction() as s:
        stranger = make_keys(s, make_partner(s, "platform"))
    resp = signed(client, stranger, "POST", f"/api/partner/v1/orders/{order_id}/confirm")
    assert resp.status_code == 404


def test_a_schedule_is_added_once_and_offline_needs_a_venue(client, db, market):
    path = "/api/partner/v1/courses"
    course = signed(
        client,
        market.keys,
        "POST",
        path,
        _course_body(market, external_ref="off-1", mode="offline"),
    ).json()["course"]
    sched = f"/api/partner/v1/courses/{course['id']}/schedules"
    body = {
        "external_ref": "s1",
        "starts_at": "2026-12-01T02:00:00Z",
        "ends_at": "2026-12-01T05:00:00Z",
    }
    missing = signed(client, market.keys, "POST", sched, body)
    assert missing.status_code == 422
    ok = signed(client, market.keys, "POST", sched, body | {"venue": "BLK Bandung"})
    again = signed(client, market.keys, "POST", sched, body | {"venue": "BLK Bandung"})
    assert ok.status_code == 200
    assert (ok.json()["changed"], again.json()["changed"]) == (True, False)
    assert ok.json()["id"] == again.json()["id"]


def test_invalid_course_input_is_422_problem_json(client, db, market):
    resp = signed(
        client, market.keys, "POST", "/api/partner/v1/courses", _course_body(market, price=-5)
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert _courses(db) == 1


@pytest.mark.parametrize("mode", ["webinar", "offline"])
def test_a_live_course_without_a_capacity_is_422_and_nothing_changes(client, db, market, mode):
    body = _course_body(market, external_ref="live-1", mode=mode)
    del body["capacity"]
    resp = signed(client, market.keys, "POST", "/api/partner/v1/courses", body)
    assert resp.status_code == 422
    assert resp.json()["code"] == "bad_course"
    assert "capacity" in resp.json()["detail"]
    assert _courses(db) == 1


def _suspend(db, partner_id):
    with db.transaction() as s:
        service_partner.suspend(s, partner_id=partner_id, actor="staff", now=NOW)


def _order_state(db, public_id):
    with db.sessions() as s:
        order = s.scalar(select(Order).where(Order.public_id == public_id))
        return order.status, order.voucher_redeemed_at


@pytest.mark.parametrize("call", ["publish", "schedule", "confirm", "redeem"])
def test_a_suspended_platform_may_not_publish_schedule_confirm_or_redeem(client, db, market, call):
    keys = market.keys
    pending_buyer, pending = _placed_order(db, market)
    _, paid = _placed_order(db, market)
    assert signed(client, keys, "POST", f"/api/partner/v1/orders/{paid}/confirm").status_code == 200
    with db.sessions() as s:
        voucher = s.scalar(select(Order.voucher_code).where(Order.public_id == paid))
    _suspend(db, market.platform.id)
    schedule = {
        "external_ref": "s1",
        "starts_at": "2026-12-01T02:00:00Z",
        "ends_at": "2026-12-01T05:00:00Z",
    }
    path, body = {
        "publish": ("/api/partner/v1/courses", _course_body(market)),
        "schedule": (f"/api/partner/v1/courses/{market.course.public_id}/schedules", schedule),
        "confirm": (f"/api/partner/v1/orders/{pending}/confirm", None),
        "redeem": (f"/api/partner/v1/vouchers/{voucher}/redeem", None),
    }[call]
    resp = signed(client, keys, "POST", path, body)
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "partner_not_selling"
    assert _courses(db) == 1
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CourseSession)) == 0
        assert ledger.balance(s, pending_buyer.account_code) == (3_500_000, 3_000_000)
    assert _order_state(db, pending) == ("pending", None)
    assert _order_state(db, paid) == ("confirmed", None)


@pytest.mark.parametrize("kind", ["platform", "provider"])
def test_a_suspended_partner_may_still_cancel_and_refund(client, db, market, kind):
    pending_buyer, pending = _placed_order(db, market)
    paid_buyer, paid = _placed_order(db, market)
    signed(client, market.keys, "POST", f"/api/partner/v1/orders/{paid}/confirm")
    keys = market.keys
    if kind == "provider":
        with db.transaction() as s:
            keys = make_keys(s, s.get(Partner, market.provider.id))
    _suspend(db, keys.partner_id)
    for order_id, status in ((pending, "cancelled"), (paid, "refunded")):
        path = f"/api/partner/v1/orders/{order_id}/cancel"
        resp = signed(client, keys, "POST", path, {"reason": "partner suspended"})
        assert (resp.status_code, resp.json()["status"]) == (200, status)
    with db.sessions() as s:
        for buyer in (pending_buyer, paid_buyer):
            assert ledger.balance(s, buyer.account_code) == (3_500_000, 3_500_000)
        assert check_ledger(s) == []


def test_a_rejected_partner_may_call_nothing(client, db, market):
    with db.transaction() as s:
        applicant = make_partner(s, "platform", active=False)
        keys = make_keys(s, applicant)
        for step in ("due_diligence", "rejected"):
            service_partner.advance(s, partner_id=applicant.id, to=step, actor="staff", now=NOW)
    _, order_id = _placed_order(db, market)
    calls = [
        ("/api/partner/v1/courses", _course_body(market)),
        (f"/api/partner/v1/orders/{order_id}/cancel", {"reason": "x"}),
        ("/api/partner/v1/completions", {"order_id": order_id, "pre_score": 1, "post_score": 2}),
    ]
    for path, body in calls:
        resp = signed(client, keys, "POST", path, body)
        assert resp.status_code == 403, path
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["code"] == "partner_rejected"
        assert resp.json()["title"] == "Mitra ini tidak diterima dalam program"
    wrong = signed(client, keys, "POST", "/api/partner/v1/courses", {}, secret="guess")
    assert wrong.status_code == 401  # the signature is checked first
    assert _courses(db) == 1
    assert _order_state(db, order_id) == ("pending", None)
