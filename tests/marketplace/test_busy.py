"""A request stuck behind a row lock gives up (503 + Retry-After) instead of waiting forever,
and changes nothing: the same request succeeds once the lock is gone.

Found with bench/bench_purchase.py: the first purchases after a platform's activation all waited
on the one transaction creating its payable account, while that transaction waited for a route
thread (FastAPI validates a sync route's answer on the same thread pool) - every thread held,
forever. Now the account exists from activation, and no web request waits without bound."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from prakerja.app import create_app, web_engine_options
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database, is_postgres
from prakerja.settings import get_settings
from prakerja.wallet import service as ledger
from tests.marketplace.conftest import make_buyer, start_order


def test_a_partner_activated_as_platform_has_its_payable_account(db, market):
    with db.sessions() as s:
        account = ledger.account_by_code(s, f"platform:{market.platform.id}")
        assert (account.kind, account.balance, account.held) == ("platform", 0, 0)


def test_a_lock_held_too_long_is_a_503_that_changes_nothing(db, market):
    if not is_postgres(db.engine):
        pytest.skip("lock_timeout is PostgreSQL's (SQLite serialises writers)")
    settings = get_settings().model_copy(
        update={"web_lock_timeout_ms": 300, "database_url": db.url}
    )
    web_db = Database(db.url, **web_engine_options(settings))
    with db.transaction() as s:
        buyer = make_buyer(s, issued_at=utc_now())  # it buys at the server's clock
    with TestClient(create_app(settings, web_db), raise_server_exceptions=False) as client:
        buyer.login(client)
        order_id, code = start_order(client, db, buyer, market.course.public_id, "busy-0001")
        path = f"/api/v1/orders/{order_id}/confirm-code"
        with db.engine.connect() as holder:  # another transaction holds the order's row
            holder.execute(
                text("SELECT id FROM market_order WHERE public_id = :p FOR UPDATE"),
                {"p": order_id},
            )
            busy = client.post(path, json={"code": code})
            holder.rollback()
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "2"
        assert busy.json()["code"] == "busy"
        with db.sessions() as s:
            assert ledger.balance(s, buyer.account_code) == (3_500_000, 3_500_000)
            status = s.scalar(
                text("SELECT status FROM market_order WHERE public_id = :p"), {"p": order_id}
            )
            assert status == "awaiting_code"
        again = client.post(path, json={"code": code})
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "pending"
    web_db.dispose()
