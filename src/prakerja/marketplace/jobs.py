"""Marketplace jobs: webhook delivery; cancelling orders whose card was revoked or closed, and
orders their platform never confirmed.

`marketplace.deliver_webhook`: a signed POST of one event to the partner's webhook URL.
A delivery runs at least once; partners de-duplicate by the event `id` (also X-Event-Id).
A failed attempt is recorded and a new job is queued with kit.jobs' exponential backoff, up to
`MAX_ATTEMPTS`; after that the delivery is `failed` and shows on the partners board.

`marketplace.cancel_voided_orders`: enqueued by the wallet, in the transaction that revokes or
closes a card, with the ids of the order holds it voided (`wallet.service_card._void_holds`).

`marketplace.cancel_unconfirmed_orders`: scheduled daily; cancels the pending orders their
platform has not confirmed within `rules.CONFIRM_WITHIN`, as a platform cancellation would.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.kit.errors import Invalid
from prakerja.marketplace import service_order, service_partner, service_purchase, signing
from prakerja.marketplace.model import Partner, WebhookDelivery
from prakerja.marketplace.service_webhook import JOB, MAX_ATTEMPTS, body_of
from prakerja.settings import get_settings
from prakerja.wallet.service_card import CANCEL_VOIDED_ORDERS

log = structlog.get_logger("prakerja.marketplace.jobs")
CANCEL_UNCONFIRMED = "marketplace.cancel_unconfirmed_orders"


def _post(url: str, client_id: str, secret: str, delivery: WebhookDelivery) -> int:
    body = json.dumps(body_of(delivery), separators=(",", ":")).encode()
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    headers = signing.sign(client_id, secret, "POST", path, body, nonce=signing.new_nonce())
    headers |= {"Content-Type": "application/json", "X-Event-Id": delivery.event_id}
    resp = httpx.post(
        url, content=body, headers=headers, timeout=get_settings().adapter_timeout_s * 2
    )
    return resp.status_code


@jobs.handler(JOB)
def deliver_webhook(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Deliver once; a delivered or skipped event is never sent again by a repeated job."""
    delivery = session.get(WebhookDelivery, payload["id"])
    if delivery is None or delivery.status != "pending":
        return
    partner = session.get(Partner, delivery.partner_id)
    creds = service_partner.signing_secret(session, delivery.partner_id)
    if partner is None or not partner.webhook_url or creds is None:
        delivery.status, delivery.last_error = "skipped", "no webhook URL or no active credential"
        return
    delivery.attempts += 1
    try:
        status = _post(partner.webhook_url, *creds, delivery)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        delivery.last_status = status
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    if error is None:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
        return
    delivery.last_error = error
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
        return
    jobs.enqueue(
        session,
        JOB,
        {"id": delivery.id},
        now=now,
        run_after=now + jobs.backoff(delivery.attempts),
        key=f"webhook:{delivery.id}:{delivery.attempts}",
    )


@jobs.handler(CANCEL_UNCONFIRMED)
def cancel_unconfirmed_orders(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Scheduled daily: cancel the orders left unconfirmed too long (a rerun changes nothing)."""
    cancelled = service_order.cancel_unconfirmed_orders(session, now=now)
    log.info("orders_not_confirmed_cancelled", count=len(cancelled))


@jobs.handler(CANCEL_VOIDED_ORDERS)
def cancel_voided_orders(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Cancel the orders still pending on the voided holds (a rerun changes nothing)."""
    ids = payload.get("transfer_ids")
    if not isinstance(ids, list) or not all(type(i) is int for i in ids):
        raise Invalid("job payload field 'transfer_ids' must be a list of integers")
    reason = payload.get("reason")
    if not isinstance(reason, str):
        reason = "card_closed"
    service_purchase.cancel_voided_orders(session, hold_transfer_ids=ids, reason=reason, now=now)


# Daily at 02:00 Jakarta time, after the card deadline scan.
jobs.every_day(CANCEL_UNCONFIRMED, hour=2)
