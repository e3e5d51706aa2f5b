"""Citizen JSON API: search, start a purchase, confirm with the SMS code, list orders."""

import datetime as dt

from prakerja.kit.clock import utc_now
from prakerja.wallet import service as ledger
from tests.marketplace.conftest import make_buyer, sms_code, start_order


def _buyer(db, client):
    with db.transaction() as s:
        buyer = make_buyer(s, issued_at=utc_now())  # it buys at the server's clock
    buyer.login(client)
    return buyer


def test_search_lists_courses_on_sale_with_filters(client, market):
    found = client.get("/api/v1/courses", params={"q": "digital", "max_price": 500_000})
    assert [c["id"] for c in found.json()] == [market.course.public_id]
    assert client.get("/api/v1/courses", params={"max_price": 499_999}).json() == []
    assert client.get("/api/v1/courses", params={"mode": "offline"}).json() == []


def test_numbers_beyond_what_a_database_holds_are_refused_not_crashed_on(client, market):
    # Found by schemathesis in CI: 2**63 overflowed SQLite's INTEGER and answered 500.
    for params in ({"max_price": 2**63}, {"offset": 2**63}):
        answer = client.get("/api/v1/courses", params=params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_citizen_buys_with_card_number_and_sms_code(client, db, market):
    buyer = _buyer(db, client)
    body = {
        "course_id": market.course.public_id,
        "card_number": buyer.card_number,
        "idempotency_key": "web-0001",
    }
    started = client.post("/api/v1/orders", json=body)
    assert started.status_code == 201, started.text
    assert started.json()["status"] == "awaiting_code"
    with db.sessions() as s:
        code = sms_code(s, buyer.phone)
    path = f"/api/v1/orders/{started.json()['id']}/confirm-code"
    done = client.post(path, json={"code": code})
    assert done.json()["status"] == "pending"
    assert client.get("/api/v1/orders").json()[0]["id"] == started.json()["id"]
    with db.sessions() as s:
        assert ledger.balance(s, buyer.account_code) == (3_500_000, 3_000_000)


def test_a_wrong_code_is_counted_even_though_the_request_fails(client, db, market):
    buyer = _buyer(db, client)
    order_id, code = start_order(client, db, buyer, market.course.public_id, "web-0002")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    path = f"/api/v1/orders/{order_id}/confirm-code"
    statuses = [client.post(path, json={"code": wrong}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    locked = client.post(path, json={"code": code})
    assert locked.status_code == 429
    assert locked.headers["content-type"] == "application/problem+json"


def test_buying_needs_a_login(client, market):
    resp = client.post(
        "/api/v1/orders",
        json={
            "course_id": market.course.public_id,
            "card_number": "1" * 16,
            "idempotency_key": "web-0003",
        },
    )
    assert resp.status_code == 401


def test_a_price_above_the_balance_is_409(client, db, market):
    from tests.marketplace.conftest import make_course

    with db.transaction() as s:
        from prakerja.marketplace.model import Partner

        platform, provider = s.get(Partner, market.platform.id), s.get(Partner, market.provider.id)
        dear = make_course(s, platform, provider, price=3_500_001)
    buyer = _buyer(db, client)
    resp = client.post(
        "/api/v1/orders",
        json={
            "course_id": dear.public_id,
            "card_number": buyer.card_number,
            "idempotency_key": "web-0004",
        },
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "price_above_balance"


def test_a_purchase_after_the_first_purchase_deadline_is_403_in_indonesian(client, db, market):
    with db.transaction() as s:  # issued 30 days ago: its 15 days to buy are over
        buyer = make_buyer(s, issued_at=utc_now() - dt.timedelta(days=30))
    buyer.login(client)
    resp = client.post(
        "/api/v1/orders",
        json={
            "course_id": market.course.public_id,
            "card_number": buyer.card_number,
            "idempotency_key": "web-0005",
        },
    )
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "first_purchase_deadline_passed"
    assert resp.json()["title"] == "Batas waktu pembelian pelatihan pertama Anda sudah lewat"
