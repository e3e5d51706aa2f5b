"""Screening a closed wave: every application checked by the wave's policy, set-based.

Eligibility comes from registration (`iter_facts` + `eligibility.evaluate`), extended with this
programme's own history: a person selected in an earlier wave is a prior recipient, and the
recipients a family card (KK) already had across earlier waves count towards the KK cap. Each
application gets its status, its reason codes, its priority tier, inclusion flags, the KK's prior
recipients and its pseudonyms, written with one UPDATE.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.kit.clock import jakarta_date
from prakerja.registration import eligibility
from prakerja.registration.model import Person
from prakerja.registration.policy import PolicyRules
from prakerja.registration.service_eligibility import (
    current_policy,
    get_version,
    iter_facts,
    rules_of,
)
from prakerja.selection import bulk, poolfile, screen_sql
from prakerja.selection.model import Application, Wave
from prakerja.selection.service import get_wave, transition

FLAG_DISABILITY, FLAG_FORMER_MIGRANT = 0, 1
PRIORITY_LIST = "priority"


@dataclass(frozen=True)
class ScreenReport:
    """Counts of one screening run."""

    applications: int
    eligible: int
    screened_out: int
    priority: int
    reasons: dict[str, int]


def wave_rules(session: Session, wave: Wave) -> PolicyRules:
    """The policy the wave points to (the preset when it was planned without a published one)."""
    if wave.policy_version_id is None:
        return current_policy(session)[1]
    return rules_of(get_version(session, wave.policy_version_id))


def _applicants(
    session: Session, wave_id: int
) -> tuple[np.ndarray, list[str | None], np.ndarray, list[tuple[bytes | None, bytes | None]]]:
    rows = session.execute(
        select(
            Application.person_id,
            Person.kk_bidx,
            Person.disability,
            Person.migrant_status,
            Application.pseudonym,
            Application.kk_pseudonym,
        )
        .join(Person, Person.id == Application.person_id)
        .where(Application.wave_id == wave_id)
        .order_by(Application.person_id)
    ).all()
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    flags = np.fromiter(
        (
            (int(bool(r[2])) << FLAG_DISABILITY) | (int(r[3] == "former") << FLAG_FORMER_MIGRANT)
            for r in rows
        ),
        np.int64,
        len(rows),
    )
    return ids, [r[1] for r in rows], flags, [(r[4], r[5]) for r in rows]


def _prior_selected(session: Session, wave_id: int) -> tuple[set[int], dict[str, int]]:
    """Persons selected in other waves, and per KK how many distinct such persons it holds."""
    others = (Application.wave_id != wave_id) & (Application.status == "selected")
    people = set(session.scalars(select(Application.person_id).where(others).distinct()))
    per_kk = session.execute(
        select(Person.kk_bidx, func.count(func.distinct(Application.person_id)))
        .join(Person, Person.id == Application.person_id)
        .where(others, Person.kk_bidx.is_not(None))
        .group_by(Person.kk_bidx)
    )
    return people, {str(k): int(n) for k, n in per_kk}


def _pseudonyms(
    key: bytes,
    ids: np.ndarray,
    kks: list[str | None],
    stored: list[tuple[bytes | None, bytes | None]],
) -> tuple[list[bytes], list[bytes]]:
    """The pseudonyms set at joining; computed for an application that has none."""
    pids, kk = [], []
    for i, k, (pid, kkp) in zip(ids.tolist(), kks, stored, strict=True):
        if pid is None or kkp is None:
            pid, kkp = poolfile.pseudonyms_of(key, i, k)
        pids.append(pid)
        kk.append(kkp)
    return pids, kk


def evaluate_all(
    session: Session, wave: Wave, ids: np.ndarray, kks: list[str | None], now: dt.datetime
) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """Reason codes, priority tier and KK prior recipients for each applicant (ids ascending)."""
    rules, today = wave_rules(session, wave), jakarta_date(now)
    prior_people, prior_kk = _prior_selected(session, wave.id)
    reasons: list[list[str]] = [["registration_incomplete"]] * len(ids)
    tier = np.zeros(len(ids), np.int64)
    kk_prior = np.zeros(len(ids), np.int64)
    pos = 0
    for person_id, _masked, facts in iter_facts(session):
        while pos < len(ids) and ids[pos] < person_id:
            pos += 1  # an applicant without a person row keeps registration_incomplete
        if pos == len(ids):
            break
        if ids[pos] != person_id:
            continue
        codes = list(eligibility.evaluate(facts, rules, today).codes)
        kk = kks[pos]
        own = 1 if person_id in prior_people else 0
        prior = facts.kk_recipients + (prior_kk.get(kk, 0) - own if kk else 0)
        if own and "prior_recipient" not in codes:
            codes.append("prior_recipient")
        if prior >= rules.kk_cap and "kk_cap_reached" not in codes:
            codes.append("kk_cap_reached")
        reasons[pos], kk_prior[pos] = codes, min(prior, 255)
        tier[pos] = 1 if PRIORITY_LIST in facts.lists else 0
    return reasons, tier, kk_prior


def _screen_python(
    session: Session, wave: Wave, now: dt.datetime, key: bytes, seconds: dict[str, float]
) -> ScreenReport:
    """The portable path: facts and rules in Python, then one bulk UPDATE."""
    import time

    mark = time.perf_counter()
    ids, kks, flags, stored = _applicants(session, wave.id)
    seconds["applicants"], mark = time.perf_counter() - mark, time.perf_counter()
    reasons, tier, kk_prior = evaluate_all(session, wave, ids, kks, now)
    seconds["evaluate"], mark = time.perf_counter() - mark, time.perf_counter()
    pids, kk_pids = _pseudonyms(key, ids, kks, stored)
    seconds["pseudonyms"], mark = time.perf_counter() - mark, time.perf_counter()
    ok = np.array([not r for r in reasons], bool)
    bulk.update_applications(
        session,
        wave_id=wave.id,
        person_ids=ids,
        columns={
            "status": np.where(ok, "eligible", "screened_out").tolist(),
            "reasons": [json.dumps(r) for r in reasons],
            "priority_tier": tier.tolist(),
            "inclusion_flags": flags.tolist(),
            "kk_prior": kk_prior.tolist(),
            "pseudonym": pids,
            "kk_pseudonym": kk_pids,
        },
        kinds={
            "status": "s",
            "reasons": "j",
            "priority_tier": "i",
            "inclusion_flags": "i",
            "kk_prior": "i",
            "pseudonym": "b",
            "kk_pseudonym": "b",
        },
    )
    seconds["update"] = time.perf_counter() - mark
    counts: dict[str, int] = {}
    for codes in reasons:
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    return ScreenReport(
        len(ids), int(ok.sum()), int((~ok).sum()), int(((tier > 0) & ok).sum()), counts
    )


def can_stage(session: Session) -> bool:
    """Whether screening can be staged for a draw in the same transaction."""
    return screen_sql.available(session)  # PostgreSQL with pgcrypto


def screen(
    session: Session,
    *,
    wave_id: int,
    actor: str,
    now: dt.datetime,
    timer: dict[str, float] | None = None,
    use_sql: bool | None = None,
    stage: bool = False,
) -> ScreenReport:
    """closed -> screening: every application becomes eligible or screened_out with reasons.

    On PostgreSQL with pgcrypto the rules run as one SQL statement (screen_sql); elsewhere, or
    with use_sql=False, in Python. Both write identical results. stage=True (see
    `can_stage`) keeps the results in a temporary table for a draw in the same transaction
    (service_draw.screen_and_draw), which writes them with its outcomes in one pass.
    """
    import time

    seconds, mark = timer if timer is not None else {}, time.perf_counter()
    wave = get_wave(session, wave_id)
    transition(
        session, wave, allowed=("closed",), to="screening", actor=actor, now=now, step="start"
    )
    key = vault.decrypt(wave.pseudonym_key_enc)
    if stage and not can_stage(session):
        raise ValueError("staged screening needs PostgreSQL with pgcrypto")
    if use_sql is not False and screen_sql.available(session):
        total, eligible, priority, counts = screen_sql.screen_in_sql(
            session, wave.id, wave_rules(session, wave), jakarta_date(now), key, stage=stage
        )
        seconds["screen_sql"] = time.perf_counter() - mark
        report = ScreenReport(total, eligible, total - eligible, priority, counts)
    else:
        report = _screen_python(session, wave, now, key, seconds)
    wave.screened_at = now
    from prakerja.selection.service import record_action

    record_action(
        session,
        wave,
        "screened",
        actor,
        now,
        eligible=report.eligible,
        screened_out=report.screened_out,
        reasons=report.reasons,
    )
    return report
