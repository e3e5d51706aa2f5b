"""JSON shapes of the waves API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class WaveSummary(BaseModel):
    code: str
    name: str
    status: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    total_quota: int
    is_recovery: bool


class WaveDetail(WaveSummary):
    policy_version: str
    regions_open: list[str] | str
    seed_commitment: str | None
    seed_commitment_published_at: dt.datetime | None
    seed: str | None
    pool_sha256: str | None
    params_sha256: str | None
    winners_sha256: str | None
    pool_count: int | None
    winners: int | None
    counts: dict[str, int]
    files: dict[str, str]


class JoinBody(BaseModel):
    consent: bool


class JoinResult(BaseModel):
    wave: str
    receipt: str
    status: str


class Outcome(BaseModel):
    wave: str
    status: str
    reasons: list[str]


class TransitionResult(BaseModel):
    wave: str
    status: str
    detail: dict[str, object] = {}
