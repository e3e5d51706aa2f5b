"""The policy diff an operator reads before publishing a version: everyone registered evaluated
under the current policy and under the draft, on PostgreSQL.

Creates (and finally drops) the database `prakerja_bench_diff` at 127.0.0.1:5432 (user
postgres), generates N registered people set-based in SQL over all 514 kabupaten/kota (one in
37 on an exclusion, priority or student list; two people per KK; one in 20 aged 62-70, one in
30 receiving BSU), publishes the "2023+" preset and times `diff_preview` of a "2020-22" draft.
Size with BENCH_DIFF_N (default 1,000,000) or `python -m bench.bench_policy_diff N`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import time
from typing import Any

from sqlalchemy import text

from bench import scratch

URL = scratch.url_of("prakerja_bench_diff")
NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
ACTOR = "bench"


# One in 20 aged 62-70 (inside the 2020-22 window, past the 2023+ one), one in 30 on BSU.
_DISAGREE = """
UPDATE person SET birth_date = DATE '1956-03-01' + (id % 3000)::int WHERE id % 20 = 0;
UPDATE person SET other_aid = 'bsu' WHERE id % 30 = 0;
ANALYZE person
"""


def run(n: int | None = None) -> dict[str, Any]:
    """Generate N people, then time one diff preview; people per second and its counts."""
    import prakerja.models  # noqa: F401
    from bench.bench_wave import generate_people
    from prakerja.kit import migrate
    from prakerja.kit.db import Database
    from prakerja.registration import service_eligibility as policies

    n = n or int(os.environ.get("BENCH_DIFF_N", "1000000"))
    scratch.recreate("prakerja_bench_diff")
    try:
        migrate.upgrade(URL)
        db = Database(URL)
        clock = time.perf_counter()
        generate_people(db, n)
        with db.engine.begin() as conn:  # so that the two policies disagree about some people
            conn.execute(text(_DISAGREE))
        generate_s = time.perf_counter() - clock
        with db.transaction() as s:
            current = policies.create_draft(s, code="2023.1", actor=ACTOR, now=NOW, preset="2023+")
            policies.publish(s, version_id=current.id, actor=ACTOR, now=NOW)
            draft_id = policies.create_draft(
                s, code="2026.1", actor=ACTOR, now=NOW, preset="2020-22"
            ).id
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu, clock = time.process_time(), time.perf_counter()
        with db.transaction() as s:
            report = policies.diff_preview(s, draft_id=draft_id, now=NOW)
        seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
        db.dispose()
        return {
            "people": n,
            "generate_s (not timed)": round(generate_s, 1),
            "seconds": round(seconds, 2),
            "people_per_s": int(report.total / seconds),
            "python_cpu_s": round(cpu, 2),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "rss_before_mib": rss_before // 1024,
            "total": report.total,
            "eligible_before": report.eligible_before,
            "eligible_after": report.eligible_after,
            "newly_eligible": report.newly_eligible,
            "newly_ineligible": report.newly_ineligible,
            "changes": [c.field for c in report.changes],
        }
    finally:
        if not os.environ.get("BENCH_KEEP"):
            scratch.drop("prakerja_bench_diff")


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else None)))
