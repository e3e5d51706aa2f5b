"""Reads for pages and the API: counts per status, region and group; citizen status texts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from prakerja.kit.kept import Kept
from prakerja.region import service as region
from prakerja.registration.model import Person
from prakerja.selection.model import Application, Wave, WaveQuota

PUBLISHED = ("announced", "purchase_window", "settled")

STATUS_TEXTS = {
    "waiting": "Waiting for the wave to close",
    "processing": "Being processed",
    "in_selection": "In selection",
    "selected": "Selected. Your card number and balance are on your card page once it is issued.",
    "not_selected": "Not selected in this wave. You can join the next wave without entering "
    "your data again.",
    "screened_out": "Not selected: you do not meet the programme rules for this wave.",
    "withdrawn": "Withdrawn",
}


def citizen_status(application: Application, wave: Wave) -> str:
    """The DOMAIN.md status key a citizen sees for one application."""
    if application.status == "withdrawn":
        return "withdrawn"
    if wave.status == "open":
        return "waiting"
    if wave.status in ("closed",) or (
        wave.status == "screening" and application.status == "joined"
    ):
        return "processing"
    if wave.status in PUBLISHED or (wave.is_recovery and wave.status == "drawn"):
        return application.status if application.status in STATUS_TEXTS else "processing"
    return "in_selection"


def status_counts(session: Session, wave_id: int) -> dict[str, int]:
    """Applications per status."""
    rows = session.execute(
        select(Application.status, func.count())
        .where(Application.wave_id == wave_id)
        .group_by(Application.status)
    )
    return {status: int(n) for status, n in rows}


def region_counts(session: Session, wave_id: int) -> list[dict[str, Any]]:
    """Per kabupaten/kota: code and name, quota, places filled by the draw, applicants,
    eligible."""
    apps = dict(
        session.execute(
            select(Application.regency_code, func.count())
            .where(Application.wave_id == wave_id)
            .group_by(Application.regency_code)
        ).all()
    )
    elig = dict(
        session.execute(
            select(Application.regency_code, func.count())
            .where(
                Application.wave_id == wave_id,
                Application.status.in_(("eligible", "selected", "not_selected")),
            )
            .group_by(Application.regency_code)
        ).all()
    )
    quotas = session.execute(
        select(WaveQuota).where(WaveQuota.wave_id == wave_id).order_by(WaveQuota.regency_code)
    ).scalars()
    return [
        {
            "code": q.regency_code,
            "name": region.name_of(q.regency_code) or "",
            "quota": q.quota,
            "filled": q.filled,
            "applicants": int(apps.get(q.regency_code, 0)),
            "eligible": int(elig.get(q.regency_code, 0)),
        }
        for q in quotas
    ]


def group_counts(session: Session, wave_id: int) -> dict[str, dict[str, int]]:
    """Applicants and selected per group: women, disability, former migrant, priority, rural."""
    selected = Application.status == "selected"
    groups = {
        "women": Person.sex == "P",
        "disability": Person.disability.is_(True),
        "former_migrant": Person.migrant_status == "former",
        "priority": Application.priority_tier > 0,
        "rural": Person.village_type == "rural",
    }
    cols = []
    for cond in groups.values():
        cols += [func.sum(case((cond, 1), else_=0)), func.sum(case((cond & selected, 1), else_=0))]
    row = session.execute(
        select(*cols)
        .select_from(Application)
        .join(Person, Person.id == Application.person_id)
        .where(Application.wave_id == wave_id)
    ).one()
    return {
        name: {"applicants": int(row[2 * i] or 0), "selected": int(row[2 * i + 1] or 0)}
        for i, name in enumerate(groups)
    }


def public_outcome(application: Application, wave: Wave) -> tuple[str, list[str]]:
    """What the receipt check may say: the outcome once published, else the running status."""
    key = citizen_status(application, wave)
    reasons = list(application.reasons or []) if key == "screened_out" else []
    return key, reasons


def is_open_now(wave: Wave, now: dt.datetime) -> bool:
    return wave.status == "open" and wave.opens_at <= now < wave.closes_at


# --- the public wave page's figures, computed once a minute per process (kit.kept) ------------


@dataclass(frozen=True)
class PublicFigures:
    counts: dict[str, int]
    regions: list[dict[str, Any]]
    groups: dict[str, dict[str, int]]


_PUBLIC: Kept[PublicFigures] = Kept(ttl_s=60.0)


def public_figures(session: Session, wave: Wave) -> PublicFigures:
    """Counts per status, region and group for a wave's public page and API. Every citizen
    checking a receipt opens that page; the three GROUP BYs read every application of the wave
    (0.39 s at 500,000 applicants on the bench machine: `python -m bench.bench_wave 500000`;
    seconds at a national wave), so each process computes them at most once a minute per wave,
    and again at once after any step of the wave (the key holds `updated_at`, which every
    transition sets). Joins while a wave is open show within the minute."""
    return _PUBLIC.get(
        (wave.id, wave.updated_at),
        lambda: PublicFigures(
            counts=status_counts(session, wave.id),
            regions=region_counts(session, wave.id),
            groups=group_counts(session, wave.id),
        ),
    )
