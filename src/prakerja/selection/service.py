"""Wave lifecycle up to the close: plan, update, open, publish the seed commitment, join, close.

Services take the caller's session and `now` and only flush. Every operator transition is
written to the audit chain; a refused call raises a DomainError and changes nothing. Once the
seed commitment is published a wave's parameters never change.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.identity.model import Account
from prakerja.kit import audit
from prakerja.kit.errors import Conflict, Forbidden, Invalid, NotFound
from prakerja.region import service as region
from prakerja.registration import service as registration
from prakerja.registration import steps
from prakerja.registration.service_eligibility import current_policy
from prakerja.selection import poolfile
from prakerja.selection.model import Application, Wave, WaveQuota
from prakerja.selection.quota import QuotaError, QuotaInputs, split_quota

ACTIVE_APPLICATION = ("joined", "eligible", "selected")
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes


class WaveNotFound(NotFound):
    code = "selection.wave_not_found"
    title = "No such wave"


class WaveFrozen(Conflict):
    code = "selection.wave_frozen"
    title = "The seed commitment is published, so this wave can no longer be changed"


class WrongWaveStatus(Conflict):
    code = "selection.wrong_wave_status"
    title = "The wave is not in a status that allows this"


class WaveNotOpen(Conflict):
    code = "selection.wave_not_open"
    title = "This wave is not open for joining"


class WaveNotForRegion(Forbidden):
    code = "selection.wave_not_for_region"
    title = "This wave is not open for the region on your KTP"


class RegistrationIncomplete(Forbidden):
    code = "selection.registration_incomplete"
    title = "Finish your registration before joining a wave"


class ConsentRequired(Invalid):
    code = "selection.consent_required"
    title = "You must give your consent to join the wave"


class AlreadyJoined(Conflict):
    code = "selection.already_joined"
    title = "You already have an active application"


class WaveInvalid(Invalid):
    code = "selection.wave_invalid"
    title = "The wave settings are not valid"


@dataclass(frozen=True)
class WavePlan:
    """What an operator chooses for a wave; `quota` is the JSON stored in `wave.quota_params`."""

    code: str
    name: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    total_quota: int
    regions_open: list[str] | None = None  # None = every kabupaten/kota
    quota: dict[str, Any] = field(default_factory=dict)


# --- reads ------------------------------------------------------------------------------------


def get_wave(session: Session, wave_id: int) -> Wave:
    """A wave by id, or WaveNotFound."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise WaveNotFound()
    return wave


def wave_by_code(session: Session, code: str) -> Wave:
    """A wave by its public code, or WaveNotFound."""
    wave = session.scalar(select(Wave).where(Wave.code == code))
    if wave is None:
        raise WaveNotFound()
    return wave


def list_waves(session: Session) -> list[Wave]:
    """Every wave, newest first."""
    return list(session.scalars(select(Wave).order_by(Wave.opens_at.desc(), Wave.id.desc())))


def wave_cells(wave: Wave) -> list[str]:
    """The kabupaten/kota codes a wave is open for, ascending."""
    if wave.regions_open == "all" or wave.regions_open is None:
        return [r.code for r in region.regencies()]
    return sorted(wave.regions_open)


def quotas_of(session: Session, wave_id: int) -> dict[str, int]:
    """Cell code -> places, as stored for the wave."""
    rows = session.execute(
        select(WaveQuota.regency_code, WaveQuota.quota).where(WaveQuota.wave_id == wave_id)
    )
    return {str(code): int(quota) for code, quota in rows}


# --- quota parameters -------------------------------------------------------------------------


def _int(value: Any, name: str, low: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise WaveInvalid(f"{name} must be a whole number of at least {low}")
    return value


def normalise_quota(params: dict[str, Any], cells: list[str]) -> dict[str, Any]:
    """Complete quota params: equal weights unless indicators are given; known keys only."""
    known = {
        "indicators",
        "coefficients",
        "minimum",
        "capacity",
        "priority_quota",
        "bonus_percent",
        "bonus_cells",
        "inclusion_tickets",
        "redistribute_unfilled",
        "weights_source",
    }
    unknown = set(params) - known
    if unknown:
        raise WaveInvalid(f"unknown quota parameters: {', '.join(sorted(unknown))}")
    indicators: dict[str, dict[str, int]] = params.get("indicators") or {
        "equal": dict.fromkeys(cells, 1)
    }
    coefficients = params.get("coefficients") or dict.fromkeys(indicators, 1)
    tickets = params.get("inclusion_tickets") or {}
    out = {
        "weights_source": str(
            params.get("weights_source")
            or ("equal" if "indicators" not in params else "indicators")
        ),
        "indicators": {k: {c: v[c] for c in cells if c in v} for k, v in indicators.items()},
        "coefficients": coefficients,
        "minimum": _int(params.get("minimum", 0), "minimum"),
        "capacity": params.get("capacity"),
        "priority_quota": _int(params.get("priority_quota", 0), "priority_quota"),
        "bonus_percent": _int(params.get("bonus_percent", 0), "bonus_percent"),
        "bonus_cells": sorted(set(params.get("bonus_cells") or []) & set(cells)),
        "inclusion_tickets": {str(k): _int(v, "inclusion tickets") for k, v in tickets.items()},
        "redistribute_unfilled": bool(params.get("redistribute_unfilled", False)),
    }
    capacity = out["capacity"]
    if isinstance(capacity, dict):
        out["capacity"] = {c: capacity.get(c, 0) for c in cells}
    elif capacity is not None:
        raise WaveInvalid("capacity must map region codes to places")
    return out


def compute_quotas(total: int, quota: dict[str, Any]) -> dict[str, int]:
    """Cell quotas from normalised params (places minus the priority reserve go to the cells)."""
    if quota["priority_quota"] > total:
        raise WaveInvalid("the priority quota is larger than the wave")
    inputs = QuotaInputs(
        places=total - quota["priority_quota"],
        indicators=quota["indicators"],
        coefficients=quota["coefficients"],
        minimum=quota["minimum"],
        bonus_percent=quota["bonus_percent"],
        bonus_cells=frozenset(quota["bonus_cells"]),
        capacity=quota["capacity"],
    )
    try:
        return split_quota(inputs)
    except QuotaError as exc:
        raise WaveInvalid(exc.detail) from None


def _check_plan(plan: WavePlan) -> list[str]:
    if not plan.code.strip() or len(plan.code) > 40 or not plan.code.replace("-", "").isalnum():
        raise WaveInvalid("The wave code uses letters, digits and dashes (at most 40)")
    if not plan.name.strip():
        raise WaveInvalid("The wave needs a name")
    if plan.closes_at <= plan.opens_at:
        raise WaveInvalid("The wave must close after it opens")
    _int(plan.total_quota, "total_quota", 1)
    known = {r.code for r in region.regencies()}
    if plan.regions_open is None:
        return sorted(known)
    cells = sorted(set(plan.regions_open))
    bad = [c for c in cells if c not in known]
    if bad or not cells:
        raise WaveInvalid(f"not a current kabupaten/kota code: {(bad or ['(none)'])[0]}")
    return cells


def _store_quotas(session: Session, wave: Wave, quotas: dict[str, int]) -> None:
    session.query(WaveQuota).filter(WaveQuota.wave_id == wave.id).delete()
    session.add_all(
        WaveQuota(wave_id=wave.id, regency_code=c, quota=q, filled=0) for c, q in quotas.items()
    )
    session.flush()


def record_action(
    session: Session, wave: Wave, action: str, actor: str, now: dt.datetime, **data: Any
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"wave.{action}",
        target=f"wave:{wave.code}",
        data={"status": wave.status, **data},
        now=now,
    )


# --- transitions ------------------------------------------------------------------------------


def plan_wave(session: Session, *, plan: WavePlan, actor: str, now: dt.datetime) -> Wave:
    """A planned wave under the current policy, with its quotas split exactly over its cells."""
    cells = _check_plan(plan)
    if session.scalar(select(Wave.id).where(Wave.code == plan.code)) is not None:
        raise Conflict("A wave with this code already exists")
    quota = normalise_quota(plan.quota, cells)
    quotas = compute_quotas(plan.total_quota, quota)
    version, _ = current_policy(session)
    wave = Wave(
        code=plan.code,
        name=plan.name.strip(),
        status="planned",
        opens_at=plan.opens_at,
        closes_at=plan.closes_at,
        policy_version_id=version.id,
        policy_code=version.code,
        total_quota=plan.total_quota,
        quota_params=quota,
        regions_open="all" if plan.regions_open is None else cells,
        pseudonym_key_enc=vault.encrypt(secrets.token_bytes(32)),
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(wave)
    session.flush()
    _store_quotas(session, wave, quotas)
    record_action(session, wave, "plan", actor, now, total_quota=plan.total_quota, cells=len(cells))
    return wave


def update_wave(
    session: Session, *, wave_id: int, plan: WavePlan, actor: str, now: dt.datetime
) -> Wave:
    """Change a planned or open wave; refused once its commitment is published."""
    wave = get_wave(session, wave_id)
    if wave.seed_commitment is not None:
        raise WaveFrozen()
    if wave.status not in ("planned", "open"):
        raise WrongWaveStatus()
    cells = _check_plan(plan)
    quota = normalise_quota(plan.quota, cells)
    quotas = compute_quotas(plan.total_quota, quota)
    wave.name, wave.opens_at, wave.closes_at = plan.name.strip(), plan.opens_at, plan.closes_at
    wave.total_quota, wave.quota_params = plan.total_quota, quota
    wave.regions_open = "all" if plan.regions_open is None else cells
    wave.updated_at = now
    _store_quotas(session, wave, quotas)
    record_action(session, wave, "update", actor, now, total_quota=plan.total_quota)
    return wave


def transition(
    session: Session,
    wave: Wave,
    *,
    allowed: tuple[str, ...],
    to: str,
    actor: str,
    now: dt.datetime,
    **data: Any,
) -> Wave:
    """Move a wave to `to` if it is in one of `allowed`, and audit the move."""
    if wave.status not in allowed:
        raise WrongWaveStatus(f"The wave is {wave.status}; this needs {' or '.join(allowed)}")
    wave.status, wave.updated_at = to, now
    session.flush()
    record_action(session, wave, to, actor, now, **data)
    return wave


def open_wave(session: Session, *, wave_id: int, actor: str, now: dt.datetime) -> Wave:
    """planned -> open (citizens may join until `closes_at`)."""
    wave = get_wave(session, wave_id)
    if now >= wave.closes_at:
        raise WrongWaveStatus("The closing time has already passed")
    return transition(session, wave, allowed=("planned",), to="open", actor=actor, now=now)


def publish_commitment(session: Session, *, wave_id: int, actor: str, now: dt.datetime) -> str:
    """Choose the 32-byte seed now; store its SHA-256 commitment and the seed encrypted."""
    wave = get_wave(session, wave_id)
    if wave.seed_commitment is not None:
        raise Conflict("The commitment is already published")
    if wave.status not in ("planned", "open"):
        raise WrongWaveStatus("The commitment must be published before the wave closes")
    secret = secrets.token_bytes(32)
    wave.seed_source, wave.seed_secret_enc = "secret", vault.encrypt(secret)
    wave.seed_commitment, wave.seed_commitment_published_at = poolfile.commit(secret), now
    wave.updated_at = now
    session.flush()
    record_action(session, wave, "commit", actor, now, seed_commitment=wave.seed_commitment)
    return wave.seed_commitment


def close_wave(session: Session, *, wave_id: int, actor: str, now: dt.datetime) -> Wave:
    """open -> closed; needs the published commitment (the seed is fixed before the pool)."""
    wave = get_wave(session, wave_id)
    if wave.seed_commitment is None and wave.status == "open":
        raise WrongWaveStatus("Publish the seed commitment before closing the wave")
    joined = (
        session.scalar(
            select(func.count()).select_from(Application).where(Application.wave_id == wave.id)
        )
        or 0
    )
    return transition(
        session,
        wave,
        allowed=("open",),
        to="closed",
        actor=actor,
        now=now,
        applications=int(joined),
    )


def advance(session: Session, *, wave_id: int, to: str, actor: str, now: dt.datetime) -> Wave:
    """announced -> purchase_window -> settled."""
    allowed = {"purchase_window": ("announced",), "settled": ("purchase_window",)}
    if to not in allowed:
        raise WrongWaveStatus()
    return transition(
        session, get_wave(session, wave_id), allowed=allowed[to], to=to, actor=actor, now=now
    )


# --- citizens ---------------------------------------------------------------------------------


def new_receipt() -> str:
    """A 10-character receipt code like 'K7QMX-2PZ9A' (50 random bits)."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def cell_of(regency_code: str | None) -> str | None:
    """The current cell of a KTP regency code (a retired code maps to its successor)."""
    if not regency_code:
        return None
    return region.successor_of(regency_code) or regency_code


def open_wave_for(session: Session, regency_code: str | None, now: dt.datetime) -> Wave | None:
    """The open wave a citizen of this KTP region may join now, if any."""
    cell = cell_of(regency_code)
    for wave in session.scalars(
        select(Wave)
        .where(
            Wave.status == "open",
            Wave.is_recovery.is_(False),
            Wave.opens_at <= now,
            Wave.closes_at > now,
        )
        .order_by(Wave.closes_at)
    ):
        if cell in wave_cells(wave):
            return wave
    return None


def active_application(session: Session, person_id: int) -> Application | None:
    """The person's application that is still running or selected, if any."""
    return session.scalar(
        select(Application)
        .where(Application.person_id == person_id, Application.status.in_(ACTIVE_APPLICATION))
        .order_by(Application.joined_at.desc())
        .limit(1)
    )


def join_wave(
    session: Session, *, account_id: int, wave_id: int, consent: bool, now: dt.datetime
) -> Application:
    """Join an open wave of the KTP region with consent; returns the application (its receipt)."""
    if consent is not True:
        raise ConsentRequired()
    person = registration.find_person(session, account_id)
    account = session.get(Account, account_id)
    if person is None or steps.next_step(person, account) != "done":
        raise RegistrationIncomplete()
    wave = get_wave(session, wave_id)
    if wave.status != "open" or wave.is_recovery or not wave.opens_at <= now < wave.closes_at:
        raise WaveNotOpen()
    cell = cell_of(person.regency_code)
    if cell not in wave_cells(wave):
        raise WaveNotForRegion()
    if (
        active_application(session, person.id) is not None
        or session.get(Application, (wave.id, person.id)) is not None
    ):
        raise AlreadyJoined()
    pid, kkp = poolfile.pseudonyms_of(
        vault.decrypt(wave.pseudonym_key_enc), person.id, person.kk_bidx
    )
    application = Application(
        wave_id=wave.id,
        person_id=person.id,
        pseudonym=pid,
        kk_pseudonym=kkp,
        regency_code=cell,
        receipt=new_receipt(),
        joined_at=now,
        consent_at=now,
        status="joined",
        reasons=[],
        priority_tier=0,
        inclusion_flags=0,
        kk_prior=0,
        phase=0,
    )
    session.add(application)
    session.flush()
    return application


def applications_of(session: Session, person_id: int) -> list[Application]:
    """Every application of a person, newest first."""
    return list(
        session.scalars(
            select(Application)
            .where(Application.person_id == person_id)
            .order_by(Application.joined_at.desc())
        )
    )


def outcome_by_receipt(session: Session, code: str, receipt: str) -> Application:
    """The application holding this receipt in this wave, or NotFound (no other data)."""
    wave = wave_by_code(session, code)
    application = session.scalar(
        select(Application).where(
            Application.wave_id == wave.id, Application.receipt == receipt.strip().upper()
        )
    )
    if application is None:
        raise NotFound("No application with this receipt in this wave")
    return application
