"""Outgoing webhooks: an event row and its delivery job, written in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.kit.db import insert_returning, new_id, table_of
from prakerja.marketplace.model import WebhookDelivery

JOB = "marketplace.deliver_webhook"
MAX_ATTEMPTS = 8


def emit(
    session: Session, *, partner_id: int, event: str, data: dict[str, Any], now: dt.datetime
) -> int:
    """Queue `event` for the partner (the delivery's id); delivery is retried with backoff until
    it is acknowledged."""
    row = {
        "event_id": new_id(),
        "partner_id": partner_id,
        "event": event,
        "payload": data,
        "attempts": 0,
        "status": "pending",
        "last_status": None,
        "last_error": None,
        "created_at": now,
        "delivered_at": None,
    }
    # a Core insert: the unit of work's flush cost more than a millisecond per event
    stmt = insert_returning(table_of(WebhookDelivery), session.get_bind().dialect.name)
    delivery_id = int(session.execute(stmt, row).scalar_one())
    jobs.enqueue(session, JOB, {"id": delivery_id}, now=now, key=f"webhook:{delivery_id}:0")
    return delivery_id


def body_of(delivery: WebhookDelivery) -> dict[str, Any]:
    """The JSON document a partner receives."""
    return {
        "id": delivery.event_id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
