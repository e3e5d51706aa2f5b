"""Card jobs: issuance per drawn winner, the scheduled deadline scans and year-end cut-off.

A scan only enqueues per-card jobs, set-based, each with a dedupe key (`remind:<card>`,
`revoke:<card>`, `spend_rest:<card>`, `yearend:<year>:<card>`), so a scan run twice enqueues
nothing new; each per-card job re-checks the pure rule before acting, so a job run twice (or
after the holder bought a course) changes nothing. A revocation or sweep that voids a pending
order hold enqueues `marketplace.cancel_voided_orders` (`service_card._void_holds`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import ColumnElement, String, cast, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.kit.clock import jakarta_date
from prakerja.kit.db import UTCDateTime, is_postgres, table_of
from prakerja.kit.errors import Invalid
from prakerja.wallet import cards, service_card
from prakerja.wallet.model_card import ACTIVE, Card

log = structlog.get_logger("prakerja.wallet.jobs")

ISSUE = "wallet.issue_card"
YEAR_END = "wallet.year_end_cutoff"
REVOCATION_REASON = "no_first_purchase_by_deadline"


def _int(payload: dict[str, Any], name: str, *, optional: bool = False) -> int | None:
    value = payload.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"job payload field {name!r} must be an integer")
    return value


@jobs.handler(ISSUE)
def issue_card_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Issue the card of one drawn winner (idempotent: a rerun finds the card)."""
    try:
        service_card.issue_card(
            session,
            application_id=_int(payload, "application_id"),  # type: ignore[arg-type]
            person_id=_int(payload, "person_id"),  # type: ignore[arg-type]
            wave_id=_int(payload, "wave_id"),  # type: ignore[arg-type]
            policy_version_id=_int(payload, "policy_version_id", optional=True),
            now=now,
        )
    except service_card.AlreadyHoldsCard:
        # Once per lifetime: the draw should not have picked them; retrying cannot help.
        log.warning(
            "card_not_issued",
            reason="already_holds_card",
            application_id=payload.get("application_id"),
        )


def _today(payload: dict[str, Any], now: dt.datetime) -> dt.date:
    raw = payload.get("today")
    return dt.date.fromisoformat(raw) if isinstance(raw, str) else jakarta_date(now)


def _enqueue_for_cards(
    session: Session,
    kind: str,
    key_prefix: str,
    where: ColumnElement[bool],
    extra: dict[str, Any],
    now: dt.datetime,
) -> int:
    """One INSERT ... SELECT: a `kind` job per matching card, skipping keys already used."""
    build = func.json_build_object if is_postgres(session) else func.json_object
    args: list[Any] = [literal("card_id"), Card.id]
    for name, value in extra.items():
        args += [literal(name), literal(value)]
    key = literal(key_prefix) + cast(Card.id, String)
    when = literal(now, UTCDateTime())
    rows = select(
        literal(kind), build(*args), literal(jobs.QUEUED), literal(0), literal(8), when, key, when
    ).where(where, ~exists(select(jobs.Job.id).where(jobs.Job.dedupe_key == key)))
    result = session.execute(
        insert(table_of(jobs.Job))
        .from_select(
            [
                "kind",
                "payload",
                "status",
                "attempts",
                "max_attempts",
                "run_after",
                "dedupe_key",
                "created_at",
            ],
            rows,
        )
        .returning(table_of(jobs.Job).c.id)
    )
    return len(result.all())


def scan_deadlines(session: Session, *, today: dt.date, now: dt.datetime) -> dict[str, int]:
    """Enqueue reminders, revocations and spend-rest sweeps due on the Jakarta date `today`;
    returns how many new jobs of each kind (a rerun returns zeros)."""
    active = Card.status == ACTIVE
    unbought = Card.first_purchase_at.is_(None)
    day = {"today": today.isoformat()}
    return {
        "remind": _enqueue_for_cards(
            session,
            "wallet.remind_card",
            "remind:",
            active
            & unbought
            & Card.reminder_sent_at.is_(None)
            & (Card.reminder_on <= today)
            & (Card.first_purchase_deadline >= today),
            day,
            now,
        ),
        "revoke": _enqueue_for_cards(
            session,
            "wallet.revoke_card",
            "revoke:",
            active & unbought & (Card.first_purchase_deadline < today),
            day,
            now,
        ),
        "spend_rest": _enqueue_for_cards(
            session,
            "wallet.sweep_card",
            "spend_rest:",
            active & Card.spend_rest_deadline.is_not(None) & (Card.spend_rest_deadline < today),
            {**day, "reason": "spend_rest"},
            now,
        ),
    }


def year_end_cutoff(session: Session, *, year: int, now: dt.datetime) -> int:
    """Enqueue a closing sweep for every active card issued in `year` or before (Jakarta);
    refused (YearNotEnded, nothing enqueued) while `year` has not ended in Jakarta at `now`."""
    if not 2000 <= year <= 2100:
        raise Invalid("The year must be between 2000 and 2100")
    cards.check_year_ended(year, now)
    where = (Card.status == ACTIVE) & (Card.issued_at < cards.year_end_instant(year))
    return _enqueue_for_cards(
        session,
        "wallet.sweep_card",
        f"yearend:{year}:",
        where,
        {"reason": "year_end", "year": year},
        now,
    )


@jobs.handler("wallet.scan_deadlines")
def scan_deadlines_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Scheduled daily: enqueue what is due today (Jakarta) or on `payload["today"]`."""
    counts = scan_deadlines(session, today=_today(payload, now), now=now)
    log.info("card_scan", **counts)


@jobs.handler(YEAR_END)
def year_end_cutoff_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Scheduled daily with the previous Jakarta year (see the bottom of this module): enqueue
    the closing sweeps of `payload["year"]`; only cards still active get a (new) sweep."""
    year = _int(payload, "year")
    log.info("card_year_end", year=year, enqueued=year_end_cutoff(session, year=year, now=now))  # type: ignore[arg-type]


@jobs.handler("wallet.remind_card")
def remind_card_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Send the first-purchase reminder if still due (never twice)."""
    service_card.send_reminder(
        session,
        card_id=_int(payload, "card_id"),  # type: ignore[arg-type]
        today=_today(payload, now),
        now=now,
    )


@jobs.handler("wallet.revoke_card")
def revoke_card_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Revoke a card whose first-purchase deadline passed, unless a purchase came in since."""
    card = service_card.get_card(session, _int(payload, "card_id"), lock=True)  # type: ignore[arg-type]
    if cards.revocation_due(service_card.state_of(card), _today(payload, now)):
        service_card.revoke(session, card_id=card.id, reason=REVOCATION_REASON, now=now)


@jobs.handler("wallet.sweep_card")
def sweep_card_job(session: Session, payload: dict[str, Any], now: dt.datetime) -> None:
    """Close and sweep a card at its spend-rest deadline or at the year-end cut-off."""
    card = service_card.get_card(session, _int(payload, "card_id"), lock=True)  # type: ignore[arg-type]
    state = service_card.state_of(card)
    reason = payload.get("reason")
    if reason == "year_end":
        due = cards.year_end_due(state, _int(payload, "year"))  # type: ignore[arg-type]
    elif reason == "spend_rest":
        due = cards.spend_rest_sweep_due(state, _today(payload, now))
    else:
        raise Invalid(f"unknown sweep reason {reason!r}")
    if due:
        service_card.sweep_remaining(session, card_id=card.id, reason=reason, now=now)


# The daily deadline scan runs at 01:00 Jakarta time.
jobs.every_day("wallet.scan_deadlines", hour=1)
# So does the previous year's cut-off, every day from 1 January: the first run closes the year,
# and the daily reruns cost one scan and enqueue nothing (each card's sweep has its dedupe key,
# and no card issued after the year's last instant matches), yet a run missed while the workers
# were down on 1 January still happens. An operator may also run it (`prakerja cards year-end`).
jobs.every_day(YEAR_END, hour=1, payload=lambda today: {"year": today.year - 1})
