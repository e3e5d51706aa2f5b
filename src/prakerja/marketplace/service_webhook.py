"""Outgoing webhooks: an event row and its delivery job, written in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.kit.db import new_id
from prakerja.marketplace.model import WebhookDelivery

JOB = "marketplace.deliver_webhook"
MAX_ATTEMPTS = 8


def emit(
    session: Session, *, partner_id: int, event: str, data: dict[str, Any], now: dt.datetime
) -> WebhookDelivery:
    """Queue `event` for the partner; delivery is retried with backoff until it is acknowledged."""
    delivery = WebhookDelivery(
        event_id=new_id(),
        partner_id=partner_id,
        event=event,
        payload=data,
        attempts=0,
        status="pending",
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    jobs.enqueue(session, JOB, {"id": delivery.id}, now=now, key=f"webhook:{delivery.id}:0")
    return delivery


def body_of(delivery: WebhookDelivery) -> dict[str, Any]:
    """The JSON document a partner receives."""
    return {
        "id": delivery.event_id,
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
