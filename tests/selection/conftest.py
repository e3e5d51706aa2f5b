"""Small random pools and specs for the draw's property tests."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from hypothesis import strategies as st

from prakerja.selection import poolfile
from prakerja.selection.draw import POOL_DTYPE, DrawSpec

CELLS = ("11.01", "11.02", "12.01")


def make_rows(people: list[dict[str, int]], salt: int = 0) -> Any:
    """Canonical pool rows; odd KK k has k % 3 prior recipients (consistent within a KK)."""
    rows = np.zeros(len(people), POOL_DTYPE)
    for i, p in enumerate(people):
        rows[i]["pid"] = np.frombuffer(
            hashlib.sha256(f"p{salt}:{i}".encode()).digest()[:16], np.uint8
        )
        rows[i]["kk"] = np.frombuffer(
            hashlib.sha256(f"k{p['kk']}".encode()).digest()[:16], np.uint8
        )
        rows[i]["cell"] = int(CELLS[p["cell"]].replace(".", ""))
        rows[i]["tier"], rows[i]["flags"] = p["tier"], p["flags"]
        rows[i]["kk_prior"], rows[i]["status"] = (p["kk"] % 3 if p["kk"] % 2 else 0), p["status"]
    return poolfile.decode_pool(poolfile.encode_pool(rows))


person = st.fixed_dictionaries(
    {
        "kk": st.integers(0, 12),
        "prior": st.booleans(),
        "cell": st.integers(0, 2),
        "tier": st.sampled_from([0, 0, 0, 1, 2]),
        "flags": st.integers(0, 3),
        "status": st.sampled_from([0, 0, 0, 0, 1, 3]),
    }
)
pools = st.lists(person, min_size=0, max_size=60).map(make_rows)
specs = st.builds(
    DrawSpec,
    seed=st.binary(min_size=32, max_size=32),
    wave_id=st.integers(0, 2**32 - 1),
    quotas=st.fixed_dictionaries({c: st.integers(0, 12) for c in CELLS}),
    priority_quota=st.integers(0, 6),
    kk_cap=st.integers(0, 3),
    inclusion_tickets=st.dictionaries(st.integers(0, 1), st.integers(0, 3), max_size=2),
    redistribute_unfilled=st.booleans(),
)
