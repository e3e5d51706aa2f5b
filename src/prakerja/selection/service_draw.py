"""The draw of a screened wave: reveal the seed, freeze and publish the pool, draw, persist.

Guarantees: a wave is drawn once (screening -> drawn); the published files under
`<var_dir>/waves/<code>/` (pool.bin, params.json) are exactly what `prakerja selection verify`
needs to recompute the winners; every eligible application gets its rank in draw order (the full
waitlist is kept), winners become `selected`, the rest `not_selected`, and one
`wallet.issue_card` job per winner is written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.kit.errors import Conflict
from prakerja.selection import bulk, poolfile, screen_sql, service_screen
from prakerja.selection import draw as drawing
from prakerja.selection.model import Wave, WaveQuota
from prakerja.selection.service import get_wave, quotas_of, record_action, transition
from prakerja.selection.service_screen import ScreenReport, wave_rules
from prakerja.settings import get_settings

ISSUE_CARD = "wallet.issue_card"
_POOL_SQL = (
    "SELECT person_id, encode(pseudonym, 'hex') AS pid, encode(kk_pseudonym, 'hex') AS kk,"
    " regency_code, priority_tier, inclusion_flags, kk_prior, status FROM application"
    " WHERE wave_id = :w AND status IN ('eligible', 'screened_out')"
)
_POOL_SQL_LITE = _POOL_SQL.replace("encode(pseudonym, 'hex')", "lower(hex(pseudonym))").replace(
    "encode(kk_pseudonym, 'hex')", "lower(hex(kk_pseudonym))"
)


class SeedRevealFailed(Conflict):
    code = "selection.seed_reveal_failed"
    title = "The stored seed does not match the published commitment"


@dataclass(frozen=True)
class DrawReport:
    """What a draw produced and where its files are."""

    pool_count: int
    eligible: int
    winners: int
    pool_sha256: str
    params_sha256: str
    winners_sha256: str
    files: Path
    seconds: dict[str, float]


def files_dir(code: str) -> Path:
    """Where a wave's published files live."""
    return Path(get_settings().var_dir) / "waves" / code


def _hex16(values: pl.Series) -> np.ndarray:
    raw = bytes.fromhex("".join(values.to_list()))
    return np.frombuffer(raw, np.uint8).reshape(-1, 16)


def load_pool(
    session: Session, wave_id: int, *, staged: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Canonical pool rows of a screened wave, and the person id of each row (staged: from the
    screening staged in this transaction)."""
    sql = _POOL_SQL if bulk.is_postgres(session) else _POOL_SQL_LITE
    if staged:
        sql = sql.replace(
            "FROM application WHERE wave_id = :w AND", f"FROM {screen_sql.STAGE} WHERE"
        )
    frame = bulk.fetch_frame(session, sql, {"w": wave_id})
    rows = np.zeros(frame.height, drawing.POOL_DTYPE)
    if frame.height == 0:
        return rows, np.zeros(0, np.int64)
    rows["pid"], rows["kk"] = _hex16(frame["pid"]), _hex16(frame["kk"])
    codes = frame["regency_code"].str.replace(".", "", literal=True).cast(pl.UInt16)
    rows["cell"] = codes.to_numpy()
    for col, src in (
        ("tier", "priority_tier"),
        ("flags", "inclusion_flags"),
        ("kk_prior", "kk_prior"),
    ):
        rows[col] = frame[src].cast(pl.UInt8).to_numpy()
    rows["status"] = (frame["status"] != "eligible").cast(pl.UInt8).to_numpy()
    person = frame["person_id"].cast(pl.Int64).to_numpy()
    order = drawing.sort_pairs(drawing.pair_words(rows["pid"]))
    return rows[order], person[order]


def draw_params(
    session: Session, wave: Wave, seed: bytes, pool: bytes, count: int
) -> dict[str, Any]:
    """The params object of section 4 of docs/selection-algorithm.md for this wave."""
    q = wave.quota_params
    return {
        "apportionment": {
            k: q[k]
            for k in (
                "bonus_cells",
                "bonus_percent",
                "capacity",
                "coefficients",
                "indicators",
                "minimum",
            )
        },
        "format": poolfile.FORMAT,
        "inclusion_tickets": q["inclusion_tickets"],
        "kk_cap": wave_rules(session, wave).kk_cap,
        "places": wave.total_quota,
        "policy_version": wave.policy_code,
        "pool_count": count,
        "pool_sha256": poolfile.sha256_hex(pool),
        "priority_quota": q["priority_quota"],
        "quotas": quotas_of(session, wave.id),
        "redistribute_unfilled": q["redistribute_unfilled"],
        "result": {},
        "seed": seed.hex(),
        "seed_commitment": wave.seed_commitment,
        "wave_id": wave.id,
    }


def reveal_seed(wave: Wave) -> bytes:
    """The committed seed, checked against the commitment before it is used."""
    if wave.seed_secret_enc is None or wave.seed_commitment is None:
        raise SeedRevealFailed("No seed was committed for this wave")
    secret = vault.decrypt(wave.seed_secret_enc)
    if not poolfile.check_reveal(wave.seed_commitment, secret):
        raise SeedRevealFailed()
    return secret


def _persist(
    session: Session,
    wave: Wave,
    person: np.ndarray,
    result: drawing.DrawResult,
    *,
    staged: bool = False,
) -> None:
    rank = np.zeros(len(person), np.int64)
    rank[result.order] = np.arange(1, len(result.order) + 1)
    elig = result.order
    won = result.phase[elig] > 0
    bulk.update_applications(
        session,
        wave_id=wave.id,
        person_ids=person[elig],
        columns={
            "status": np.where(won, "selected", "not_selected").tolist(),
            "rank": rank[elig].tolist(),
            "phase": result.phase[elig].tolist(),
        },
        kinds={"status": "s", "rank": "i", "phase": "i"},
        staged=screen_sql.STAGED if staged else None,
        stage=screen_sql.STAGE,
    )
    filled = [{"c": code, "n": n} for code, n in result.filled.items()]
    if filled:
        table: Any = WaveQuota.__table__
        session.execute(
            update(table)
            .where(table.c.wave_id == wave.id, table.c.regency_code == bindparam("c"))
            .values(filled=bindparam("n")),
            filled,
        )


def run_draw(
    session: Session,
    *,
    wave_id: int,
    actor: str,
    now: dt.datetime,
    workers: int = 2,
    timer: dict[str, float] | None = None,
    staged: bool = False,
) -> DrawReport:
    """screening -> drawn: publish the files, draw, persist outcomes, enqueue card issuance.

    staged: the screening was staged in this transaction (screen_and_draw)."""
    import time

    clock, seconds = time.perf_counter(), timer if timer is not None else {}
    wave = get_wave(session, wave_id)
    transition(
        session, wave, allowed=("screening",), to="drawn", actor=actor, now=now, step="start"
    )
    seed = reveal_seed(wave)
    rows, person = load_pool(session, wave.id, staged=staged)
    pool = poolfile.encode_pool(rows)
    params = draw_params(session, wave, seed, pool, len(rows))
    seconds["freeze"] = time.perf_counter() - clock
    result = drawing.draw(rows, poolfile.draw_spec(params), workers=workers)
    sealed = poolfile.seal(params, rows, result)
    seconds["draw"] = time.perf_counter() - clock - seconds["freeze"]
    out = files_dir(wave.code)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pool.bin").write_bytes(pool)
    (out / "params.json").write_bytes(sealed)
    outcome = json.loads(sealed)["result"]
    wave.seed, wave.pool_sha256, wave.pool_count = seed.hex(), params["pool_sha256"], len(rows)
    wave.params_sha256, wave.winners_sha256 = poolfile.sha256_hex(sealed), outcome["winners_sha256"]
    wave.winners, wave.drawn_at = outcome["winners"], now
    mark = time.perf_counter()
    _persist(session, wave, person, result, staged=staged)
    seconds["persist"] = time.perf_counter() - mark
    mark = time.perf_counter()
    bulk.enqueue_for_applications(
        session,
        kind=ISSUE_CARD,
        wave_id=wave.id,
        statuses=("selected",),
        extra={"policy_version_id": wave.policy_version_id},
        now=now,
    )
    seconds["enqueue"] = time.perf_counter() - mark
    record_action(
        session,
        wave,
        "drawn",
        actor,
        now,
        seed=wave.seed,
        pool_sha256=wave.pool_sha256,
        params_sha256=wave.params_sha256,
        winners=wave.winners,
        winners_sha256=wave.winners_sha256,
    )
    return DrawReport(
        len(rows),
        len(result.order),
        int(outcome["winners"]),
        wave.pool_sha256,
        wave.params_sha256,
        wave.winners_sha256,
        out,
        {k: round(v, 3) for k, v in seconds.items()},
    )


def screen_and_draw(
    session: Session,
    *,
    wave_id: int,
    actor: str,
    now: dt.datetime,
    workers: int = 2,
    timer: dict[str, float] | None = None,
) -> tuple[ScreenReport, DrawReport]:
    """closed -> screening -> drawn in one transaction: the national wave run.

    On PostgreSQL (with pgcrypto) the screening results stay in a temporary table until the draw,
    and the wave's partition is rewritten once with both (instead of once per step); elsewhere
    it is exactly `screen` then `run_draw`. Either way the outcome is the same.
    """
    import time

    seconds = timer if timer is not None else {}
    staged = service_screen.can_stage(session)
    mark = time.perf_counter()
    screened: dict[str, float] = {}
    report = service_screen.screen(
        session, wave_id=wave_id, actor=actor, now=now, timer=screened, stage=staged
    )
    seconds["screen"] = time.perf_counter() - mark
    drawn: dict[str, float] = {}
    result = run_draw(
        session,
        wave_id=wave_id,
        actor=actor,
        now=now,
        workers=workers,
        timer=drawn,
        staged=staged,
    )
    seconds.update({f"draw.{k}": v for k, v in drawn.items()})
    return report, result
