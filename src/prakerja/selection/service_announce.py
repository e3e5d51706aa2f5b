"""After the draw: announcing results, and recovery waves that re-offer revoked places.

Announcement jobs are written when the operator announces (not at the draw), so no SMS leaves
before the results are public. A recovery wave takes no applications: it re-offers
`revoked_count` places to the parent wave's waitlist in rank order, applying the KK cap and the
once-per-lifetime rule as they stand at the time of the recovery draw.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.kit.errors import Conflict
from prakerja.registration.model import Person
from prakerja.registration.service_eligibility import count_kk_recipients
from prakerja.selection import bulk
from prakerja.selection.model import Application, Wave
from prakerja.selection.service import (
    WavePlan,
    get_wave,
    new_receipt,
    plan_wave,
    record_action,
    transition,
)
from prakerja.selection.service_draw import ISSUE_CARD
from prakerja.selection.service_screen import wave_rules

ANNOUNCE = "selection.announce"
DRAWN_OR_LATER = ("drawn", "announced", "purchase_window", "settled")


def announce(session: Session, *, wave_id: int, actor: str, now: dt.datetime) -> int:
    """drawn -> announced; one `selection.announce` job per applicant. Returns the jobs."""
    wave = get_wave(session, wave_id)
    transition(session, wave, allowed=("drawn",), to="announced", actor=actor, now=now)
    wave.announced_at = now
    return bulk.enqueue_for_applications(
        session,
        kind=ANNOUNCE,
        wave_id=wave.id,
        statuses=("selected", "not_selected", "screened_out"),
        extra={},
        now=now,
    )


def plan_recovery(
    session: Session, *, parent_id: int, code: str, revoked_count: int, actor: str, now: dt.datetime
) -> Wave:
    """A recovery wave of `revoked_count` places for a drawn parent wave."""
    parent = get_wave(session, parent_id)
    if parent.status not in DRAWN_OR_LATER or parent.is_recovery:
        raise Conflict("Only a drawn, regular wave can have a recovery wave")
    if not isinstance(revoked_count, int) or revoked_count < 1:
        raise Conflict("The number of revoked places must be at least 1")
    quota = dict(parent.quota_params)
    quota["priority_quota"] = 0
    regions = None if parent.regions_open == "all" else list(parent.regions_open)
    wave = plan_wave(
        session,
        plan=WavePlan(
            code=code,
            name=f"{parent.name} (recovery)",
            opens_at=now,
            closes_at=now + dt.timedelta(days=1),
            total_quota=revoked_count,
            regions_open=regions,
            quota={k: v for k, v in quota.items() if k != "weights_source"},
        ),
        actor=actor,
        now=now,
    )
    wave.is_recovery, wave.parent_wave_id, wave.revoked_count = True, parent.id, revoked_count
    wave.policy_version_id, wave.policy_code = parent.policy_version_id, parent.policy_code
    session.flush()
    return wave


def _taken(session: Session) -> tuple[set[int], dict[str, int]]:
    selected = Application.status == "selected"
    people = set(session.scalars(select(Application.person_id).where(selected).distinct()))
    per_kk = session.execute(
        select(Person.kk_bidx, func.count(func.distinct(Person.id)))
        .join(Application, Application.person_id == Person.id)
        .where(selected, Person.kk_bidx.is_not(None))
        .group_by(Person.kk_bidx)
    )
    return people, {str(k): int(n) for k, n in per_kk}


def _candidates(session: Session, parent_id: int, chunk: int = 5000) -> Any:
    last = 0
    while True:
        rows = session.execute(
            select(
                Application.person_id,
                Application.rank,
                Application.regency_code,
                Application.kk_prior,
                Person.kk_bidx,
            )
            .join(Person, Person.id == Application.person_id)
            .where(
                Application.wave_id == parent_id,
                Application.status == "not_selected",
                Application.rank > last,
            )
            .order_by(Application.rank)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].rank


def draw_recovery(session: Session, *, wave_id: int, actor: str, now: dt.datetime) -> int:
    """planned recovery wave -> drawn: the next waitlisted applicants in rank order win."""
    wave = get_wave(session, wave_id)
    if not wave.is_recovery or wave.parent_wave_id is None:
        raise Conflict("This is not a recovery wave")
    transition(session, wave, allowed=("planned",), to="drawn", actor=actor, now=now)
    cap = wave_rules(session, wave).kk_cap
    people, per_kk = _taken(session)
    chosen: list[Application] = []

    def listed(kk: str) -> int:
        return count_kk_recipients(session, kk)

    for row in _candidates(session, wave.parent_wave_id):
        if len(chosen) >= wave.revoked_count:
            break
        kk = row.kk_bidx
        if row.person_id in people or (kk and per_kk.get(kk, 0) + listed(kk) >= cap):
            continue
        if kk:
            per_kk[kk] = per_kk.get(kk, 0) + 1
        chosen.append(
            Application(
                wave_id=wave.id,
                person_id=row.person_id,
                regency_code=row.regency_code,
                receipt=new_receipt(),
                joined_at=now,
                consent_at=now,
                status="selected",
                reasons=[],
                priority_tier=0,
                inclusion_flags=0,
                kk_prior=row.kk_prior,
                rank=row.rank,
                phase=4,
            )
        )
    session.add_all(chosen)
    session.flush()
    wave.winners, wave.drawn_at = len(chosen), now
    bulk.enqueue_for_applications(
        session,
        kind=ISSUE_CARD,
        wave_id=wave.id,
        statuses=("selected",),
        extra={"policy_version_id": wave.policy_version_id},
        now=now,
    )
    record_action(
        session, wave, "recovery_drawn", actor, now, winners=len(chosen), parent=wave.parent_wave_id
    )
    return len(chosen)
