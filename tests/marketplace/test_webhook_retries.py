"""Webhook delivery over real HTTP: a partner that fails is retried with backoff under the same
event id until it answers 2xx; one that never does ends `failed` after MAX_ATTEMPTS, and
nothing is sent after that."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from prakerja.kit import jobs
from prakerja.marketplace import service_webhook
from prakerja.marketplace.jobs import deliver_webhook
from prakerja.marketplace.model import Partner, WebhookDelivery
from prakerja.marketplace.signing import SIGNATURE_HEADER
from tests.livesrv import serve
from tests.marketplace.conftest import NOW


def _receiver(fail_first: int) -> tuple[FastAPI, list[tuple[str, str]]]:
    """Answers 503 to the first `fail_first` calls, then 200; logs (event id, signature)."""
    app, seen = FastAPI(), []

    @app.post("/hooks")
    async def hook(request: Request) -> JSONResponse:
        seen.append((request.headers["x-event-id"], request.headers[SIGNATURE_HEADER]))
        await request.body()
        return JSONResponse({}, status_code=503 if len(seen) <= fail_first else 200)

    return app, seen


def _emit(db, market, url: str) -> int:
    with db.transaction() as s:
        s.get(Partner, market.platform.id).webhook_url = url
        return service_webhook.emit(
            s, partner_id=market.platform.id, event="order.placed", data={"x": 1}, now=NOW
        )


def _attempt(db, delivery_id: int, now: dt.datetime) -> WebhookDelivery:
    with db.transaction() as s:
        deliver_webhook(s, {"id": delivery_id}, now)
    with db.sessions() as s:
        row = s.get(WebhookDelivery, delivery_id)
        s.expunge(row)
        return row


def _next_retry(db, delivery_id: int, attempt: int) -> dt.datetime | None:
    with db.sessions() as s:
        return s.scalar(
            select(jobs.Job.run_after).where(
                jobs.Job.dedupe_key == f"webhook:{delivery_id}:{attempt}"
            )
        )


def test_a_failing_partner_gets_the_same_event_again_with_backoff_until_it_answers(db, market):
    app, seen = _receiver(fail_first=2)
    with serve(app) as url:
        delivery_id = _emit(db, market, f"{url}/hooks")
        now = NOW
        for attempt in (1, 2):
            row = _attempt(db, delivery_id, now)
            assert (row.status, row.attempts, row.last_error) == ("pending", attempt, "HTTP 503")
            retry_at = _next_retry(db, delivery_id, attempt)
            assert retry_at == now + jobs.backoff(attempt)  # 10 s, then 20 s
            now = retry_at
        row = _attempt(db, delivery_id, now)
        assert (row.status, row.attempts, row.delivered_at) == ("delivered", 3, now)
        assert _attempt(db, delivery_id, now).attempts == 3  # a repeated job sends nothing
    assert len(seen) == 3
    assert len({event for event, _ in seen}) == 1  # one event id: the partner can dedupe


def test_a_partner_that_never_answers_ends_failed_after_the_last_attempt(db, market):
    app, seen = _receiver(fail_first=10_000)
    with serve(app) as url:
        delivery_id = _emit(db, market, f"{url}/hooks")
        now = NOW
        for attempt in range(1, service_webhook.MAX_ATTEMPTS + 1):
            row = _attempt(db, delivery_id, now)
            now += jobs.backoff(attempt)
        assert (row.status, row.attempts) == ("failed", service_webhook.MAX_ATTEMPTS)
        assert _next_retry(db, delivery_id, service_webhook.MAX_ATTEMPTS) is None
        _attempt(db, delivery_id, now)
    assert len(seen) == service_webhook.MAX_ATTEMPTS  # nothing sent once failed
