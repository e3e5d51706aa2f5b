"""A national-size wave on PostgreSQL: screen, draw, persist outcomes, enqueue card issuance.

Creates (and finally drops) the database `prakerja_bench_wave` at 127.0.0.1:5432 (user
postgres), generates N registered people and their applications set-based in SQL over all 514
kabupaten/kota, then times each phase of the real services. Size with BENCH_WAVE_N (default
6,700,000 applicants, 800,000 places) or `python -m bench.bench_wave N`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from typing import Any

from sqlalchemy import text

from bench import scratch

URL = scratch.url_of("prakerja_bench_wave")
NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
ACTOR = "bench"

_PEOPLE_SQL = """
INSERT INTO account (id, public_id, email, password_hash, kind, roles, status, language,
                     failed_logins, created_at, email_verified_at)
SELECT g, md5(g::text), 'b' || g || '@bench.id', 'x', 'citizen', '', 'active', 'id', 0,
       :now, :now FROM generate_series(1, :n) g;
INSERT INTO person (id, account_id, nik_bidx, kk_bidx, nik_masked, birth_date, sex, province_code,
    regency_code, registry_status, registry_detail, registry_attempts, registry_attempts_today,
    occupation, other_aid,
    employment_status, disability, migrant_status, village_type, face_status, face_attempts,
    statement, identity_done_at, profile_done_at, ktp_done_at, face_done_at, phone_done_at,
    statement_done_at, test_done_at, created_at, updated_at)
SELECT g, g, md5('n' || g), md5('k' || (g / 2)), '3201********0000',
       DATE '1975-01-01' + ((g::bigint * 7919) % 12000)::int,
       CASE WHEN g % 2 = 0 THEN 'P' ELSE 'L' END,
       substr(r.code, 1, 2), r.code, 'matched', '{}', 1, 0,
       CASE WHEN g % 97 = 0 THEN 'civil_servant' ELSE 'none' END, '', 'unemployed',
       g % 33 = 0, CASE WHEN g % 45 = 0 THEN 'former' ELSE 'none' END,
       CASE WHEN g % 10 < 7 THEN 'rural' ELSE 'urban' END, 'pass', 1, '{}',
       :now, :now, :now, :now, :now, :now, :now, :now, :now
FROM generate_series(1, :n) g
JOIN bench_region r ON r.i = (hashint4(g) & 2147483647) % :regions;
INSERT INTO listed_person (list_kind, nik_bidx, kk_bidx, source, reason, imported_at)
SELECT CASE WHEN g % 5 = 0 THEN 'priority' WHEN g % 5 = 1 THEN 'exclusion'
            ELSE 'student' END, md5('n' || g), md5('k' || (g / 2)), 'bench', '', :now
FROM generate_series(1, :n, 37) g;
"""

_APPLICATIONS_SQL = """
INSERT INTO application (wave_id, person_id, regency_code, receipt, joined_at, consent_at,
    status, reasons, priority_tier, inclusion_flags, kk_prior, phase, pseudonym, kk_pseudonym)
SELECT :wave, p.id, p.regency_code, 'R' || lpad(p.id::text, 10, '0'), :now, :now,
       'joined', '[]', 0, 0, 0, 0,
       substring(hmac(convert_to(p.id::text, 'UTF8'), :key, 'sha256') FROM 1 FOR 16),
       substring(hmac(convert_to('kk:' || p.kk_bidx, 'UTF8'), :key, 'sha256') FROM 1 FOR 16)
FROM person p;
"""


def _generate(db: Any, n: int, places: int) -> int:
    from prakerja.identity import vault
    from prakerja.selection import service
    from prakerja.selection.service import WavePlan

    with db.transaction() as s:
        wave = service.plan_wave(
            s,
            plan=WavePlan(
                code="BENCH-1",
                name="Bench wave",
                opens_at=NOW - dt.timedelta(days=7),
                closes_at=NOW + dt.timedelta(days=1),
                total_quota=places,
                quota={
                    "priority_quota": places // 100,
                    # 10 per kabupaten/kota at full size; less when the places cannot
                    # cover 514 minimums twice over (the plan refuses minimums above places)
                    "minimum": min(10, places // 1028),
                    "inclusion_tickets": {"0": 1, "1": 1},
                },
            ),
            actor=ACTOR,
            now=NOW,
        )
        service.publish_commitment(s, wave_id=wave.id, actor=ACTOR, now=NOW)
        service.open_wave(s, wave_id=wave.id, actor=ACTOR, now=NOW)
        wave_id = wave.id
        # Citizens get their pseudonyms when they join (selection.service.join_wave); the
        # generator does the same for its synthetic joiners, in SQL.
        key = vault.decrypt(wave.pseudonym_key_enc)
    generate_people(db, n, {"wave": wave_id, "key": key}, then=_APPLICATIONS_SQL)
    return wave_id


def generate_people(db: Any, n: int, params: dict[str, Any] | None = None, then: str = "") -> None:
    """N registered people (accounts, persons over all 514 kabupaten/kota, one in 37 on a
    list) set-based in SQL, then the statements of `then` with `params`; ANALYZE at the end."""
    from prakerja.region import service as region

    codes = [r.code for r in region.regencies()]
    with db.engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
        conn.execute(text("CREATE TABLE bench_region (i int PRIMARY KEY, code text)"))
        conn.execute(
            text("INSERT INTO bench_region VALUES (:i, :c)"),
            [{"i": i, "c": c} for i, c in enumerate(codes)],
        )
        for stmt in (_PEOPLE_SQL + then).split(";"):
            if stmt.strip():
                conn.execute(
                    text(stmt), {"n": n, "now": NOW, "regions": len(codes), **(params or {})}
                )
        conn.execute(text("SELECT setval('account_id_seq', :n)"), {"n": n})
        conn.execute(text("SELECT setval('person_id_seq', :n)"), {"n": n})
        conn.execute(text("ANALYZE"))


def run(n: int | None = None) -> dict[str, Any]:
    """Generate, then time close, screen, draw (freeze/draw/persist/enqueue); seconds per phase."""
    import prakerja.models  # noqa: F401
    from prakerja.kit import migrate
    from prakerja.kit.db import Database
    from prakerja.selection import bulk, service, service_draw

    n = n or int(os.environ.get("BENCH_WAVE_N", "6700000"))
    places = 800_000 if n >= 6_700_000 else max(1000, n * 8 // 67)
    scratch.recreate("prakerja_bench_wave")
    try:
        migrate.upgrade(URL)
        db = Database(URL)
        clock = time.perf_counter()
        wave_id = _generate(db, n, places)
        seconds: dict[str, float] = {"generate (not in total)": time.perf_counter() - clock}
        clock = time.perf_counter()
        with db.transaction() as s:
            service.close_wave(s, wave_id=wave_id, actor=ACTOR, now=NOW)
            phases: dict[str, float] = {}
            report, drawn = service_draw.screen_and_draw(
                s, wave_id=wave_id, actor=ACTOR, now=NOW, timer=phases
            )
            mark = time.perf_counter()
        phases["commit"] = time.perf_counter() - mark
        seconds.update(phases)
        seconds.update({f"draw.persist.{k}": v for k, v in bulk.LAST_REWRITE.items()})
        seconds["total (screen..commit)"] = time.perf_counter() - clock
        # the public wave page's figures (every receipt check opens it): computed once, then
        # served from the process's copy (selection.queries.public_figures)
        from prakerja.selection import queries

        with db.transaction() as s:
            wave = service.get_wave(s, wave_id)
            for view in ("public page figures, first view", "public page figures, next view"):
                mark = time.perf_counter()
                queries.public_figures(s, wave)
                seconds[view + " (not in total)"] = time.perf_counter() - mark
        db.dispose()
        return {
            "applicants": n,
            "regions": 514,
            "places": places,
            "eligible": report.eligible,
            "screened_out": report.screened_out,
            "winners": drawn.winners,
            "winners_sha256": drawn.winners_sha256,
            "seconds": {k: round(v, 4) for k, v in seconds.items()},
        }
    finally:
        if not os.environ.get("BENCH_KEEP"):  # keep the database to inspect plans
            scratch.drop("prakerja_bench_wave")


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else None)))
