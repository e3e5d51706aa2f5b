"""NIK validation speed: the vectorised bulk check over 1,000,000 synthetic NIKs, and the
scalar parser. Target: at least 200,000 NIKs a second on one core for the bulk check."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import numpy as np

from prakerja.region import service as region
from prakerja.registration.nik import parse_nik, validate_many

TODAY = dt.date(2025, 6, 30)


def synthetic_niks(n: int, seed: int = 20250630) -> np.ndarray:
    """n NIKs from real districts and dates, about 1 in 50 corrupted, as a numpy str array."""
    rng = np.random.default_rng(seed)
    districts = np.array(
        sorted(c.replace(".", "") for c in region.known_codes() if c.count(".") == 2)
    )
    born = np.datetime64("1930-01-01") + rng.integers(0, 34_000, n).astype("timedelta64[D]")
    years, months = born.astype("datetime64[Y]"), born.astype("datetime64[M]")
    day = (born - months.astype("datetime64[D]")).astype(int) + 1
    day += 40 * rng.integers(0, 2, n)
    month = (months - years.astype("datetime64[M]")).astype(int) + 1
    yy = (years.astype(int) + 1970) % 100
    serial = rng.integers(0, 10_000, n)
    head = np.char.add(
        districts[rng.integers(0, len(districts), n)], np.char.zfill(day.astype(str), 2)
    )
    mm = np.char.zfill(month.astype(str), 2)
    mm[rng.random(n) < 0.02] = "13"  # an impossible month
    tail = np.char.add(mm, np.char.zfill(yy.astype(str), 2))
    return np.char.add(np.char.add(head, tail), np.char.zfill(serial.astype(str), 4))


def _rate(count: int, seconds: float) -> int:
    return int(count / seconds) if seconds else 0


def run(n: int = 1_000_000, scalar_n: int = 20_000) -> dict[str, Any]:
    """Measure bulk and scalar NIK validation; returns rates in NIKs per second."""
    niks = synthetic_niks(n)
    validate_many(niks[:1000], today=TODAY)  # load the region tables outside the timing
    as_list = niks.tolist()
    started = time.perf_counter()
    batch = validate_many(niks, today=TODAY)
    array_s = time.perf_counter() - started
    started = time.perf_counter()
    validate_many(as_list, today=TODAY)
    list_s = time.perf_counter() - started
    started = time.perf_counter()
    for nik in as_list[:scalar_n]:
        parse_nik(nik, today=TODAY)
    scalar_s = time.perf_counter() - started
    return {
        "bulk_niks": n,
        "bulk_valid": int(batch.valid.sum()),
        "bulk_array_per_s": _rate(n, array_s),
        "bulk_list_per_s": _rate(n, list_s),
        "scalar_niks": scalar_n,
        "scalar_per_s": _rate(scalar_n, scalar_s),
    }


if __name__ == "__main__":
    print(json.dumps(run()))
