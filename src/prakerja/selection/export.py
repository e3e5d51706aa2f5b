"""Evaluation export: the full screened pool of a wave with outcome, rank and strata.

Pseudonymised: rows carry the wave pseudonym (as in the published pool file), never a person id,
NIK, KK or name; ages are 5-year bands. Losers of the lottery are the evaluation's control group.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.kit.clock import jakarta_date
from prakerja.kit.errors import Conflict
from prakerja.registration.model import Person
from prakerja.selection.model import Application
from prakerja.selection.service import wave_by_code

DRAWN = ("drawn", "announced", "purchase_window", "settled")


def age_band(birth: dt.date | None, on: dt.date) -> str:
    """'18-22', '23-27', ... by completed years on `on`; 'unknown' without a date."""
    if birth is None:
        return "unknown"
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    low = 18 + max(0, (years - 18) // 5) * 5 if years >= 18 else 0
    return f"{low}-{low + 4}" if years >= 18 else "under-18"


def evaluation_frame(session: Session, *, code: str) -> pl.DataFrame:
    """One row per screened application of a drawn wave (see the module docstring)."""
    wave = wave_by_code(session, code)
    if wave.status not in DRAWN:
        raise Conflict("The wave has not been drawn yet")
    on = jakarta_date(wave.closes_at)
    rows = session.execute(
        select(
            Application.pseudonym,
            Application.regency_code,
            Application.status,
            Application.reasons,
            Application.priority_tier,
            Application.inclusion_flags,
            Application.rank,
            Application.phase,
            Person.sex,
            Person.birth_date,
            Person.disability,
            Person.migrant_status,
            Person.village_type,
        )
        .join(Person, Person.id == Application.person_id)
        .where(Application.wave_id == wave.id)
        .order_by(Application.pseudonym)
    ).all()
    return pl.DataFrame(
        {
            "wave": [code] * len(rows),
            "pseudonym": [(r.pseudonym or b"").hex() for r in rows],
            "regency_code": [r.regency_code for r in rows],
            "province_code": [r.regency_code[:2] for r in rows],
            "sex": [r.sex or "" for r in rows],
            "age_band": [age_band(r.birth_date, on) for r in rows],
            "disability": [bool(r.disability) for r in rows],
            "migrant_status": [r.migrant_status or "none" for r in rows],
            "village_type": [r.village_type or "" for r in rows],
            "priority_tier": [int(r.priority_tier) for r in rows],
            "outcome": [r.status for r in rows],
            "selected": [r.status == "selected" for r in rows],
            "rank": [r.rank for r in rows],
            "phase": [int(r.phase) for r in rows],
            "reasons": [",".join(r.reasons or []) for r in rows],
        },
        schema_overrides={"rank": pl.Int64},
    )


def export_wave(session: Session, *, code: str, out: Path) -> dict[str, Path]:
    """Write evaluation.parquet and evaluation.csv for a drawn wave into `out`."""
    frame = evaluation_frame(session, code=code)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"parquet": out / f"{code}-evaluation.parquet", "csv": out / f"{code}-evaluation.csv"}
    frame.write_parquet(paths["parquet"])
    frame.write_csv(paths["csv"])
    return paths
