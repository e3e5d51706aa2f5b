"""Waves JSON API (/api/v1/waves): public reads and outcome checks, citizen join, staff actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from prakerja.identity.deps import CurrentCitizen, require_staff
from prakerja.identity.model import Account
from prakerja.kit.clock import utc_now
from prakerja.kit.routing import DbSession, new_router
from prakerja.selection import queries, service, service_ops
from prakerja.selection.model import Wave
from prakerja.selection.schemas import (
    JoinBody,
    JoinResult,
    Outcome,
    TransitionResult,
    WaveDetail,
    WaveSummary,
)

router = new_router(prefix="/api/v1/waves", tags=["waves"])
Operator = Annotated[Account, Depends(require_staff("operator"))]


def _problem(*statuses: int) -> dict[int | str, dict[str, Any]]:
    names = {
        401: "Login required",
        403: "Not allowed",
        404: "No such wave or application",
        409: "The wave is not in a status that allows this",
        422: "Invalid input",
    }
    return {
        s: {
            "description": names[s] + " (application/problem+json)",
            "content": {"application/problem+json": {}},
        }
        for s in statuses
    }


def summary(wave: Wave) -> WaveSummary:
    return WaveSummary(
        code=wave.code,
        name=wave.name,
        status=wave.status,
        opens_at=wave.opens_at,
        closes_at=wave.closes_at,
        total_quota=wave.total_quota,
        is_recovery=wave.is_recovery,
    )


def detail(session: DbSession, wave: Wave) -> WaveDetail:
    files = {}
    if wave.pool_sha256:
        files = {
            "pool": f"/waves/{wave.code}/files/pool.bin",
            "params": f"/waves/{wave.code}/files/params.json",
        }
    return WaveDetail(
        **summary(wave).model_dump(),
        policy_version=wave.policy_code,
        regions_open=wave.regions_open,
        seed_commitment=wave.seed_commitment,
        seed_commitment_published_at=wave.seed_commitment_published_at,
        seed=wave.seed,
        pool_sha256=wave.pool_sha256,
        params_sha256=wave.params_sha256,
        winners_sha256=wave.winners_sha256,
        pool_count=wave.pool_count,
        winners=wave.winners,
        counts=queries.public_figures(session, wave).counts,
        files=files,
    )


@router.get("", response_model=list[WaveSummary])
def list_waves(session: DbSession) -> list[WaveSummary]:
    """Every wave, newest first (public)."""
    return [summary(w) for w in service.list_waves(session)]


@router.get("/{code}", response_model=WaveDetail, responses=_problem(404))
def get_wave(code: str, session: DbSession) -> WaveDetail:
    """The public record of a wave: commitment, seed, hashes, counts and file links."""
    return detail(session, service.wave_by_code(session, code))


@router.post(
    "/{code}/join",
    status_code=201,
    response_model=JoinResult,
    responses=_problem(401, 403, 404, 409, 422),
)
def join(code: str, body: JoinBody, session: DbSession, account: CurrentCitizen) -> JoinResult:
    """Join an open wave of your KTP region with consent; keep the receipt."""
    wave = service.wave_by_code(session, code)
    app = service.join_wave(
        session, account_id=account.id, wave_id=wave.id, consent=body.consent, now=utc_now()
    )
    return JoinResult(wave=wave.code, receipt=app.receipt, status=app.status)


@router.get("/{code}/outcome", response_model=Outcome, responses=_problem(404, 422))
def outcome(
    code: str, session: DbSession, receipt: Annotated[str, Query(min_length=5, max_length=16)]
) -> Outcome:
    """The outcome for a receipt: status and reason codes only, no personal data."""
    app = service.outcome_by_receipt(session, code, receipt)
    status, reasons = queries.public_outcome(app, service.get_wave(session, app.wave_id))
    return Outcome(wave=code, status=status, reasons=reasons)


@router.post(
    "/{code}/{action}", response_model=TransitionResult, responses=_problem(401, 403, 404, 409, 422)
)
def act(code: str, action: str, session: DbSession, staff: Operator) -> TransitionResult:
    """Operator transition: commit, open, close, screen, draw, announce, purchase_window,
    settle."""
    result = service_ops.run_action(
        session, code=code, action=action, actor=f"staff:{staff.public_id}", now=utc_now()
    )
    wave = service.wave_by_code(session, code)
    return TransitionResult(wave=code, status=wave.status, detail=result)
