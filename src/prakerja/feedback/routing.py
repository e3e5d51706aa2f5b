"""Who owns each topic, its service levels, and the SLA clock of a ticket (pure rules + lookup)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.feedback.model import RoutingRule


@dataclass(frozen=True)
class Route:
    """The owning team or partner of a topic and its service levels."""

    team: str
    partner: str | None
    first_response_minutes: int
    resolution_hours: int


# Defaults for a new installation; operators override them with rows in feedback_routing_rule.
DEFAULT_ROUTES: dict[str, Route] = {
    "registration_identity": Route("registration", None, 240, 72),
    "login_otp": Route("technology", None, 60, 24),
    "face_verification": Route("technology", None, 120, 48),
    "account_blocked": Route("trust_safety", None, 120, 48),
    "selection": Route("contact_centre", None, 480, 120),
    "training_purchase": Route("partner_platform", "platform", 240, 72),
    "certificate_completion": Route("partner_provider", "provider", 480, 120),
    "incentive_payment": Route("payments", "payment_partner", 120, 72),
    "payment_account": Route("payments", "payment_partner", 120, 72),
    "survey": Route("contact_centre", None, 720, 168),
    "fraud_report": Route("trust_safety", None, 30, 24),
    "praise_suggestion": Route("product", None, 1440, 336),
    "other": Route("contact_centre", None, 480, 120),
}
URGENT_FACTOR = 4  # urgent tickets get a quarter of the normal first-response time


def routes(session: Session) -> dict[str, Route]:
    """Every topic's route: stored rules override the defaults."""
    table = dict(DEFAULT_ROUTES)
    for rule in session.scalars(select(RoutingRule)):
        table[rule.topic] = Route(
            rule.team, rule.partner, rule.first_response_minutes, rule.resolution_hours
        )
    return table


def set_route(session: Session, *, topic: str, route: Route) -> RoutingRule:
    """Store (or replace) the rule of one topic."""
    rule = session.scalar(select(RoutingRule).where(RoutingRule.topic == topic))
    if rule is None:
        rule = RoutingRule(topic=topic)
        session.add(rule)
    rule.team, rule.partner = route.team, route.partner
    rule.first_response_minutes, rule.resolution_hours = (
        route.first_response_minutes,
        route.resolution_hours,
    )
    session.flush()
    return rule


def priority(urgent: bool, sentiment: str | None) -> int:
    """0 for urgent, 1 for negative, 2 otherwise (lower is served first)."""
    if urgent:
        return 0
    return 1 if sentiment == "negative" else 2


def due_times(route: Route, *, urgent: bool, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(first response due, resolution due) for a ticket opened at `start`."""
    minutes = route.first_response_minutes // (URGENT_FACTOR if urgent else 1)
    return (
        start + dt.timedelta(minutes=max(5, minutes)),
        start + dt.timedelta(hours=route.resolution_hours),
    )


def time_left(due: dt.datetime, now: dt.datetime) -> dt.timedelta:
    """Negative when the deadline has passed."""
    return due - now


def scan_breaches(session: Session, *, now: dt.datetime) -> dict[str, int]:
    """Alert the operators once per ticket and deadline that passed; returns counts."""
    from prakerja.feedback.model import OPEN_STATUSES, Ticket
    from prakerja.feedback.service_alert import alert_operators

    first = list(
        session.scalars(
            select(Ticket).where(
                Ticket.status.in_(OPEN_STATUSES),
                Ticket.first_response_at.is_(None),
                Ticket.first_response_due < now,
                ~Ticket.breaches.contains("first"),
            )
        )
    )
    late = list(
        session.scalars(
            select(Ticket).where(
                Ticket.status.in_(OPEN_STATUSES),
                Ticket.resolve_due < now,
                ~Ticket.breaches.contains("resolve"),
            )
        )
    )
    for tickets, mark in ((first, "first"), (late, "resolve")):
        for t in tickets:
            t.breaches = ",".join(filter(None, [t.breaches, mark]))
    if first or late:
        lines = [
            f"#{t.public_id} {t.topic} ({t.owner_team}) first response overdue" for t in first[:50]
        ] + [f"#{t.public_id} {t.topic} ({t.owner_team}) resolution overdue" for t in late[:50]]
        alert_operators(
            session,
            subject=f"[Prakerja] SLA: {len(first)} first-response and "
            f"{len(late)} resolution breaches",
            body="\n".join(lines),
            now=now,
        )
    session.flush()
    return {"first_response": len(first), "resolution": len(late)}
