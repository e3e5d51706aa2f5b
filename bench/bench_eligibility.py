"""Evaluate eligibility for 1,000,000 applicants under both presets (pure rules, one core)."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from typing import Any

from prakerja.registration import eligibility, policy
from prakerja.registration.eligibility import ApplicantFacts

N = 1_000_000
TODAY = dt.date(2025, 6, 15)


def _population(n: int, seed: int = 2025) -> list[ApplicantFacts]:
    """Mostly clean applicants with realistic shares of each problem."""
    rng = random.Random(seed)
    occupations = ("farmer", "trader", "driver", "unemployed", *policy.OCCUPATIONS)
    kinds = eligibility.LIST_KINDS
    people = []
    for _ in range(n):
        listed = frozenset(k for k in kinds if rng.random() < 0.02)
        people.append(
            ApplicantFacts(
                birth_date=TODAY - dt.timedelta(days=rng.randint(15 * 365, 75 * 365)),
                occupation=occupations[rng.randrange(len(occupations))]
                if rng.random() < 0.3
                else "unemployed",
                other_aid=frozenset({"bsu"}) if rng.random() < 0.1 else frozenset(),
                lists=listed,
                registry_status="matched" if rng.random() < 0.95 else "mismatch",
                kk_recipients=rng.choice((0, 0, 0, 1, 2)),
                is_student=rng.random() < 0.05,
                registration_complete=rng.random() < 0.9,
            )
        )
    return people


def run(n: int = N) -> dict[str, Any]:
    """Build `n` facts, evaluate each under both presets; time and per-second rates."""
    people = _population(n)
    out: dict[str, Any] = {"name": "eligibility", "applicants": n}
    for name, rules in policy.PRESETS.items():
        start = time.perf_counter()
        eligible = sum(eligibility.evaluate(f, rules, TODAY).eligible for f in people)
        seconds = time.perf_counter() - start
        out[name] = {
            "seconds": round(seconds, 3),
            "per_second": int(n / seconds),
            "eligible": eligible,
        }
    return out


if __name__ == "__main__":
    print(json.dumps(run()))
