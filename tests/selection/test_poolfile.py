"""Published files: canonical pool and params, commitments, and verify's single-byte checks."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.selection import poolfile
from prakerja.selection.draw import draw

from .conftest import CELLS, make_rows

SECRET = hashlib.sha256(b"example seed").digest()


def _published(n: int = 120) -> tuple[bytes, bytes]:
    people = [
        {
            "kk": i // 2,
            "prior": 0,
            "cell": i % 3,
            "tier": int(i % 17 == 0),
            "flags": i % 4,
            "status": int(i % 11 == 0),
        }
        for i in range(n)
    ]
    rows = make_rows(people)
    pool = poolfile.encode_pool(rows)
    params = {
        "apportionment": {
            "bonus_cells": ["12.01"],
            "bonus_percent": 10,
            "capacity": None,
            "coefficients": {"pop": 1},
            "indicators": {"pop": {"11.01": 50, "11.02": 30, "12.01": 20}},
            "minimum": 2,
        },
        "format": poolfile.FORMAT,
        "inclusion_tickets": {"0": 1},
        "kk_cap": 2,
        "places": 40,
        "policy_version": "2024.1",
        "pool_count": len(rows),
        "pool_sha256": poolfile.sha256_hex(pool),
        "priority_quota": 4,
        "redistribute_unfilled": True,
        "result": {},
        "seed": SECRET.hex(),
        "seed_commitment": poolfile.commit(SECRET),
        "wave_id": 7,
    }
    params["quotas"] = poolfile.split_quota(poolfile.quota_inputs(params))
    result = draw(rows, poolfile.draw_spec(params), workers=1)
    return pool, poolfile.seal(params, rows, result)


POOL, PARAMS = _published()


def test_documented_commitment_and_pseudonym_vectors():
    assert poolfile.commit(SECRET) == (
        "2addbb64f918f80dc4de3ae6a5c6042b1a4b127ea737a518b00c01e6033fa810"
    )
    assert poolfile.check_reveal(poolfile.commit(SECRET), SECRET)
    assert not poolfile.check_reveal(poolfile.commit(SECRET), SECRET[:-1] + b"\x00")
    pid = poolfile.pseudonym(b"wave-7-secret", b"person-1")
    assert pid.hex() == "03868602789f41281307d5865e59d0bd"


def test_pool_file_is_canonical_whatever_the_row_order():
    rows = poolfile.decode_pool(POOL)
    shuffled = rows[np.random.default_rng(3).permutation(len(rows))]
    assert poolfile.encode_pool(shuffled) == POOL
    assert len(POOL) == 16 + 38 * len(rows)
    assert poolfile.decode_pool(POOL).tobytes() == rows.tobytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PRAKERJA-POOL-v2" + b"\x00" * 38, "start"),
        (POOL[:-1], "cut"),
        (POOL[:16] + POOL[54:92] + POOL[16:54] + POOL[92:], "ascending"),
        (POOL[:16] + POOL[16:54] * 2, "unique"),
    ],
)
def test_a_malformed_pool_file_is_refused(data, message):
    with pytest.raises(poolfile.PoolFileError, match=message):
        poolfile.decode_pool(data)


def test_published_files_verify():
    report = poolfile.verify(POOL, PARAMS, workers=1)
    assert report.ok, report
    assert set(report.checks) == {
        "pool_sha256",
        "seed_reveal",
        "params_sha256",
        "quotas",
        "pool_count",
        "winners",
        "winners_sha256",
        "waitlist_sha256",
    }


def _flip(data: bytes, at: int, mask: int) -> bytes:
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]


@settings(max_examples=150, deadline=None)
@given(at=st.integers(0, len(POOL) - 1), mask=st.integers(1, 255))
def test_any_single_byte_change_to_the_pool_is_detected(at, mask):
    assert not poolfile.verify(_flip(POOL, at, mask), PARAMS, workers=1).ok


@settings(max_examples=300, deadline=None)
@given(at=st.integers(0, len(PARAMS) - 1), mask=st.integers(1, 255))
def test_any_single_byte_change_to_the_params_is_detected(at, mask):
    assert not poolfile.verify(POOL, _flip(PARAMS, at, mask), workers=1).ok


@pytest.mark.parametrize("digit", range(64))
def test_a_changed_seed_digit_fails_the_reveal(digit):
    start = PARAMS.index(b'"seed":"') + len(b'"seed":"')
    old = PARAMS[start + digit : start + digit + 1]
    changed = (
        PARAMS[: start + digit] + (b"0" if old != b"0" else b"1") + PARAMS[start + digit + 1 :]
    )
    report = poolfile.verify(POOL, changed, workers=1)
    assert report.checks["seed_reveal"] is False
    assert not report.ok


def test_params_that_are_not_canonical_are_refused():
    pretty = json.dumps(json.loads(PARAMS), indent=1, sort_keys=True).encode()
    report = poolfile.verify(POOL, pretty, workers=1)
    assert not report.ok
    assert "canonical" in report.reason


def test_tampered_quotas_are_caught_even_with_a_resealed_params_hash():
    params = json.loads(PARAMS)
    params["quotas"][CELLS[0]] += 1
    params["quotas"][CELLS[1]] -= 1
    params["result"]["params_sha256"] = poolfile.params_core_sha256(params)
    report = poolfile.verify(POOL, poolfile.canonical_json(params), workers=1)
    assert report.checks["quotas"] is False
