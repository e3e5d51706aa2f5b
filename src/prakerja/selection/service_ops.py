"""One entry for operator transitions, shared by the admin pages, the API and the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.kit.errors import NotFound
from prakerja.selection import service, service_announce, service_draw, service_screen
from prakerja.selection.model import Wave

ACTIONS = (
    "commit",
    "open",
    "close",
    "screen",
    "draw",
    "run",
    "announce",
    "purchase_window",
    "settle",
)


# What each status lets an operator do next (a recovery wave is drawn straight from planned).
_NEXT = {
    "closed": ("screen", "run"),
    "screening": ("draw",),
    "drawn": ("announce",),
    "announced": ("purchase_window",),
    "purchase_window": ("settle",),
}


# Statuses where the next step is due now (a purchase window's settling waits for its end).
_DUE = ("closed", "screening", "drawn", "announced")


def count_waiting(session: Session, now: dt.datetime) -> int:
    """Waves whose next step is the operators' now: the statuses of `_DUE`, or open past their
    closing time (the staff home's count)."""
    due = Wave.status.in_(_DUE) | ((Wave.status == "open") & (Wave.closes_at <= now))
    return int(session.scalar(select(func.count()).where(due)) or 0)


def actions_for(wave: Wave) -> tuple[str, ...]:
    """The actions that apply to the wave as it stands, in ACTIONS order: what a page offers.
    Every action still checks the wave's state itself (the API and the CLI offer all)."""
    if wave.status == "planned":
        if wave.is_recovery:
            return ("draw",)
        return ("open",) if wave.seed_commitment else ("commit", "open")
    if wave.status == "open":
        return ("close",) if wave.seed_commitment else ("commit",)
    return _NEXT.get(wave.status, ())


def _draw(session: Session, wave_id: int, actor: str, now: dt.datetime) -> dict[str, Any]:
    wave = service.get_wave(session, wave_id)
    if wave.is_recovery:
        return {
            "winners": service_announce.draw_recovery(
                session, wave_id=wave_id, actor=actor, now=now
            )
        }
    report = service_draw.run_draw(session, wave_id=wave_id, actor=actor, now=now)
    return {
        "winners": report.winners,
        "pool_sha256": report.pool_sha256,
        "winners_sha256": report.winners_sha256,
    }


def _screen(session: Session, wave_id: int, actor: str, now: dt.datetime) -> dict[str, Any]:
    report = service_screen.screen(session, wave_id=wave_id, actor=actor, now=now)
    return {"eligible": report.eligible, "screened_out": report.screened_out}


def _run(session: Session, wave_id: int, actor: str, now: dt.datetime) -> dict[str, Any]:
    """closed -> drawn in one transaction (service_draw.screen_and_draw: one bulk write). A
    recovery wave has nothing to screen (it re-offers its parent's waitlist): it is drawn."""
    if service.get_wave(session, wave_id).is_recovery:
        return _draw(session, wave_id, actor, now)
    screened, drawn = service_draw.screen_and_draw(session, wave_id=wave_id, actor=actor, now=now)
    return {
        "eligible": screened.eligible,
        "screened_out": screened.screened_out,
        "winners": drawn.winners,
        "pool_sha256": drawn.pool_sha256,
        "winners_sha256": drawn.winners_sha256,
    }


_RUN: dict[str, Callable[[Session, int, str, dt.datetime], Any]] = {
    "commit": lambda s, w, a, n: {
        "seed_commitment": service.publish_commitment(s, wave_id=w, actor=a, now=n)
    },
    "open": lambda s, w, a, n: service.open_wave(s, wave_id=w, actor=a, now=n) and {},
    "close": lambda s, w, a, n: service.close_wave(s, wave_id=w, actor=a, now=n) and {},
    "screen": _screen,
    "draw": _draw,
    "run": _run,
    "announce": lambda s, w, a, n: {
        "jobs": service_announce.announce(s, wave_id=w, actor=a, now=n)
    },
    "purchase_window": lambda s, w, a, n: (
        service.advance(s, wave_id=w, to="purchase_window", actor=a, now=n) and {}
    ),
    "settle": lambda s, w, a, n: service.advance(s, wave_id=w, to="settled", actor=a, now=n) and {},
}


def run_action(
    session: Session, *, code: str, action: str, actor: str, now: dt.datetime
) -> dict[str, Any]:
    """Apply one named transition to the wave `code`; returns what it produced."""
    if action not in _RUN:
        raise NotFound(f"Unknown wave action {action!r}")
    wave = service.wave_by_code(session, code)
    return dict(_RUN[action](session, wave.id, actor, now) or {})
