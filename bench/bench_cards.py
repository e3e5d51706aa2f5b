"""Benchmark: issue the cards of an 800,000-winner wave on PostgreSQL (target: under 60 s).

Creates database prakerja_bench_cards at 127.0.0.1:5432 (user postgres), migrates it, seeds
accounts, persons and one queued `wallet.issue_card` job per winner set-based with
generate_series, times `bulk.issue_wave` (chunks of `bulk.issue_cards_for_wave`, one transaction
each, on two connections), then times `check_ledger` over the result.
Run: `python -m bench.bench_cards [winners] [--workers N] [--keep]`; prints one JSON line with
the seconds per statement summed over chunks and connections, and the load average.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import Any

from sqlalchemy import func, select, text

from bench import scratch

NAME = "prakerja_bench_cards"
URL = scratch.url_of(NAME)
WAVE = 1
SEED = (
    """INSERT INTO account (id, public_id, email, password_hash, kind, roles, status, phone,
                            language, failed_logins, created_at)
       SELECT g, md5(g::text), 'w' || g || '@bench.id', 'x', 'citizen', '', 'active',
              '+62812' || lpad(g::text, 8, '0'), 'id', 0, now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO person (id, account_id, nik_bidx, registry_status, registry_detail,
                           registry_attempts, registry_attempts_today, disability,
                           migrant_status, other_aid,
                           face_status, face_attempts, statement, created_at, updated_at)
       SELECT g, g, md5('nik' || g), 'matched', '{}', 1, 0, false, 'none', '', 'pass', 0, '{}',
              now(), now()
       FROM generate_series(1, :n) g""",
    """INSERT INTO job (kind, payload, status, attempts, max_attempts, run_after, created_at)
       SELECT 'wallet.issue_card',
              json_build_object('application_id', :wave * 1000000000000 + g, 'person_id', g,
                                'wave_id', :wave, 'policy_version_id', NULL),
              'queued', 0, 8, now(), now()
       FROM generate_series(1, :n) g""",
    "SELECT setval(pg_get_serial_sequence('account', 'id'), :n)",
    "SELECT setval(pg_get_serial_sequence('person', 'id'), :n)",
)


def _statement_timer(engine: Any) -> list[tuple[float, str]]:
    """Seconds per statement executed on `engine` (its first words), from every connection."""
    from sqlalchemy import event

    times: list[tuple[float, str]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        times.append((time.perf_counter() - conn.info["t0"], " ".join(sql.split()[:6])))

    return times


def _by_statement(times: list[tuple[float, str]], top: int = 12) -> list[list[Any]]:
    """[seconds summed over all chunks and connections, times run, statement], slowest first."""
    total: dict[str, list[float]] = {}
    for took, sql in times:
        row = total.setdefault(sql, [0.0, 0])
        row[0] += took
        row[1] += 1
    rows = sorted(total.items(), key=lambda kv: -kv[1][0])[:top]
    return [[round(t, 2), int(n), sql] for sql, (t, n) in rows if t >= 0.05]


def run(winners: int = 800_000, keep: bool = False, workers: int = 2) -> dict[str, Any]:
    """Seconds to seed, issue (on `workers` connections) and check; the target is issuance
    under 60 s."""
    import prakerja.models  # noqa: F401  (all tables)
    from prakerja.kit import migrate
    from prakerja.kit.db import Database
    from prakerja.wallet import bulk
    from prakerja.wallet.check import check_ledger
    from prakerja.wallet.model_card import Card

    scratch.recreate(NAME)
    migrate.upgrade(URL)
    db = Database(URL)
    seconds: dict[str, float] = {}
    try:
        started = time.perf_counter()
        with db.transaction() as s:
            for stmt in SEED:
                s.execute(text(stmt), {"n": winners, "wave": WAVE})
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        seconds["seed"] = round(time.perf_counter() - started, 2)
        times = _statement_timer(db.engine)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        report = bulk.issue_wave(db, wave_id=WAVE, now=dt.datetime.now(dt.UTC), workers=workers)
        seconds["issue"] = round(time.perf_counter() - started, 2)
        statements = _by_statement(times)
        started = time.perf_counter()
        with db.transaction() as s:
            problems = check_ledger(s)
            cards = int(s.scalar(select(func.count()).select_from(Card)) or 0)
        seconds["check_ledger"] = round(time.perf_counter() - started, 2)
    finally:
        db.dispose()
        if not keep:
            scratch.drop(NAME)
    return {
        "winners": winners,
        "workers": workers,
        "issued": report.issued,
        "cards": cards,
        "ledger_problems": len(problems),
        "seconds": seconds,
        "load_average_before_issue": round(load, 2),
        "load_average_after_issue": round(os.getloadavg()[0], 2),
        "statements_seconds_runs": statements,
        "target_met": seconds["issue"] < 60 and report.issued == winners and not problems,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("winners", type=int, nargs="?", default=800_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    opts = parser.parse_args()
    print(json.dumps(run(opts.winners, keep=opts.keep, workers=opts.workers), sort_keys=True))
