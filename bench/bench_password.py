"""How many argon2id password hashes one core makes per second, and cores for the launch peak.

The real launch peak was 80,000 sign-ups in one minute (1,333 a second); every sign-up hashes
one password, so hashing alone needs `ceil(1333 / rate)` cores. Run: python -m bench.bench_password
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable

from prakerja.identity import passwords

PEAK_SIGNUPS_PER_S = 80_000 / 60


def _rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn` on this thread, over at least `seconds` and 5 calls."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or count < 5:
        fn()
        count += 1
    return count / elapsed


def run(seconds: float = 3.0) -> dict[str, object]:
    """Measure hash and verify rates on one core (argon2 with p=1 uses one thread)."""
    stored = passwords.hash_password("Kopi-tubruk-2026")
    hash_rate = _rate(lambda: passwords.hash_password("Kopi-tubruk-2026"), seconds)
    verify_rate = _rate(lambda: passwords.verify_password(stored, "Kopi-tubruk-2026"), seconds)
    return {
        "params": {
            "type": "argon2id",
            "memory_kib": passwords.MEMORY_KIB,
            "time_cost": passwords.TIME_COST,
            "parallelism": passwords.PARALLELISM,
        },
        "hashes_per_s_per_core": round(hash_rate, 1),
        "verifies_per_s_per_core": round(verify_rate, 1),
        "ms_per_hash": round(1000 / hash_rate, 2),
        "peak_signups_per_s": round(PEAK_SIGNUPS_PER_S, 1),
        "cores_for_peak": math.ceil(PEAK_SIGNUPS_PER_S / hash_rate),
        "memory_at_peak_mib": round(PEAK_SIGNUPS_PER_S / hash_rate * passwords.MEMORY_KIB / 1024),
        "cpu_count_here": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the box skews rates
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
