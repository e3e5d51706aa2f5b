"""Partner completion reports per second through the signed API against `prakerja serve` on
PostgreSQL (target 1,000/s), one report per call and in batches.

Single: each report is POST /api/partner/v1/completions, HMAC-signed by the platform: the server
verifies the signature (vault-decrypted secret, replay cache insert), records the completion
and issues the signed certificate (Ed25519 over canonical facts + the Open Badges proof).
Batch: POST /api/partner/v1/completions/batch with BENCH_BATCH_SIZE reports per signed call,
BENCH_BATCH_CALLERS calls in flight; the rate counts reports answered with a completion. Each
pass has its own orders, seeded set-based as confirmed enrolments of a self-paced course (no
sessions); afterwards the database must hold exactly one completion and one certificate per
order. Each pass also reports the CPU per report it cost the server processes, the bench
database's PostgreSQL backends and this load generator (from /proc), so a busy shared machine
can be told apart from our own cost. A last, in-process pass times the parts of one report.
Run: python -m bench.bench_completion  (or `make bench BENCH_ARGS=completion`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text

from bench import rawhttp, scratch

DB_NAME = "prakerja_bench_learning"
TARGET_PER_S = 1000
N_ORDERS = int(os.environ.get("BENCH_COMPLETIONS", "6000"))
N_BATCH_ORDERS = int(os.environ.get("BENCH_BATCH_COMPLETIONS", "30000"))
BATCH_SIZE = int(os.environ.get("BENCH_BATCH_SIZE", "100"))
BATCH_CALLERS = int(os.environ.get("BENCH_BATCH_CALLERS", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
CONCURRENCY = 32
SINGLE_PATH = "/api/partner/v1/completions"
BATCH_PATH = "/api/partner/v1/completions/batch"
PORT = 8931


def _seed(url: str, n: int) -> dict[str, Any]:
    """Partners, a credential and a course through the services; n orders set-based."""
    from prakerja.identity.model import Account
    from prakerja.kit.db import Database
    from prakerja.marketplace import rules, service_catalogue, service_partner
    from prakerja.marketplace.model import Order
    from prakerja.registration.model import Person
    from prakerja.wallet.model_card import Card

    now = dt.datetime.now(dt.UTC)
    db = Database(url)
    with db.transaction() as s:
        ids = []
        for kind in ("platform", "provider"):
            p = service_partner.apply(
                s, code=f"bench-{kind}", name=f"Bench {kind}", kind=kind, actor="bench", now=now
            )
            for step in ("due_diligence", "assessment", "approved", "active"):
                service_partner.advance(s, partner_id=p.id, to=step, actor="bench", now=now)
            ids.append(p.id)
        cred, secret = service_partner.issue_credential(s, partner_id=ids[0], actor="b", now=now)
        platform = service_partner.get_partner(s, ids[0])
        course, _ = service_catalogue.publish_course(
            s,
            platform=platform,
            now=now,
            data=rules.CourseInput(
                external_ref="bench-1",
                provider_code="bench-provider",
                title="Akuntansi Dasar",
                category="Keuangan",
                mode="self_paced",
                hours=15,
                price=600_000,
            ),
        )
        service_catalogue.assess_course(s, course_id=course.id, approve=True, actor="b", now=now)
        s.execute(
            insert(Account),
            [
                {
                    "id": i,
                    "public_id": uuid.uuid4().hex,
                    "email": f"b{i}@x.id",
                    "password_hash": "x",
                    "kind": "citizen",
                    "created_at": now,
                }
                for i in range(1, n + 1)
            ],
        )
        s.execute(
            insert(Person),
            [
                {
                    "id": i,
                    "account_id": i,
                    "full_name": f"Peserta {i}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1, n + 1)
            ],
        )
        s.execute(
            insert(Card),
            [
                {
                    "id": i,
                    "number": f"{5200_0000_0000_0000 + i}",
                    "person_id": i,
                    "wave_id": 1,
                    "application_id": i,
                    "status": "active",
                    "issued_at": now,
                    "first_purchase_deadline": now.date(),
                    "reminder_on": now.date(),
                }
                for i in range(1, n + 1)
            ],
        )
        orders = [
            {
                "public_id": uuid.uuid4().hex,
                "card_id": i,
                "course_id": course.id,
                "platform_id": ids[0],
                "amount": 600_000,
                "status": "confirmed",
                "idempotency_key": f"bench-{i}",
                "created_at": now,
                "confirmed_at": now,
            }
            for i in range(1, n + 1)
        ]
        s.execute(insert(Order), orders)
        for table in ("account", "person", "card"):
            s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n + 1})"))
    db.dispose()
    return {
        "client_id": cred.client_id,
        "secret": secret,
        "orders": [o["public_id"] for o in orders],
    }


def _report(order: str) -> dict[str, Any]:
    return {"order_id": order, "pre_score": 40, "post_score": 80}


async def _fire(
    base: str, seed: dict[str, Any], path: str, bodies: list[bytes], concurrency: int
) -> dict[str, Any]:
    """POST every body (signed when sent) with `concurrency` calls in flight, one keep-alive
    connection each (bench.rawhttp, so the load generator leaves the CPU to the server)."""
    from prakerja.marketplace import signing

    queue = bodies[::-1]
    latencies: list[float] = []
    statuses: dict[Any, int] = {}
    accepted = [0]

    async def worker(conn: rawhttp.Connection) -> None:
        while queue:
            body = queue.pop()
            headers = signing.sign(seed["client_id"], seed["secret"], "POST", path, body)
            headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            try:
                resp = await conn.request("POST", path, body=body, headers=headers)
            except rawhttp.HTTPError as exc:  # counted, never hidden
                statuses[str(exc)] = statuses.get(str(exc), 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            if resp.status_code == 200:
                accepted[0] += resp.json().get("accepted", 1)  # a single call answers one

    conns = [rawhttp.Connection(base, timeout=120) for _ in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    seconds = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    latencies.sort()
    return {
        "reports": accepted[0],
        "calls": len(latencies),
        "seconds": round(seconds, 2),
        "per_s": round(accepted[0] / seconds, 1),
        "statuses": statuses,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "concurrency": concurrency,
    }


def _single_bodies(orders: list[str]) -> list[bytes]:
    return [json.dumps(_report(order)).encode() for order in orders]


def _batch_bodies(orders: list[str]) -> list[bytes]:
    return [
        json.dumps({"reports": [_report(o) for o in orders[i : i + BATCH_SIZE]]}).encode()
        for i in range(0, len(orders), BATCH_SIZE)
    ]


def _stored(url: str) -> dict[str, int]:
    """Completions and certificates in the database (one per order: both are unique by order)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        counts = {
            "completions": int(conn.scalar(text("SELECT count(*) FROM learning_completion")) or 0),
            "certificates": int(
                conn.scalar(text("SELECT count(*) FROM learning_certificate")) or 0
            ),
        }
    engine.dispose()
    return counts


def _proc_cpu(pid: int) -> float:
    """User+system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(server: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server's process tree and of the bench database's backends."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == server:
                children.append(int(entry))
    engine = create_engine(scratch.ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        backends = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": DB_NAME}
        ).all()
    engine.dispose()
    return {
        "server": {pid: _proc_cpu(pid) for pid in [server, *children]},
        "postgres": {pid: _proc_cpu(pid) for pid in backends},
    }


def _cpu_per_report(
    before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], reports: int
) -> dict[str, float]:
    """Milliseconds of CPU per report the pass cost the server and PostgreSQL."""
    out = {}
    for part in ("server", "postgres"):
        spent = sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items())
        out[f"{part}_cpu_ms_per_report"] = round(spent * 1000 / max(reports, 1), 3)
    return out


def _pass(
    base: str, seed: dict[str, Any], server: int, path: str, bodies: list[bytes], callers: int
) -> dict[str, Any]:
    """One timed pass, with the CPU it cost the server, PostgreSQL and this load generator."""
    before, client0 = _cpu_snapshot(server), time.process_time()
    result = asyncio.run(_fire(base, seed, path, bodies, callers))
    client_s = time.process_time() - client0
    result.update(_cpu_per_report(before, _cpu_snapshot(server), result["reports"]))
    result["client_cpu_ms_per_report"] = round(client_s * 1000 / max(result["reports"], 1), 3)
    return result


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 240  # building the app takes ~30 s per worker today
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("prakerja serve exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("prakerja serve did not start")


def _breakdown(url: str) -> dict[str, float]:
    """Milliseconds per step of one report, measured in this process (200 repetitions)."""
    from prakerja.learning import certificates
    from prakerja.marketplace import signing

    facts = {
        "type": "PrakerjaCertificate",
        "certificate_id": "x" * 32,
        "recipient": {"name": "A"},
        "course": {"id": "c", "title": "T", "hours": 1, "mode": "webinar"},
        "provider": {"code": "p", "name": "P"},
        "issued_at": "2026-01-01T00:00:00Z",
        "verify_url": "http://x/certificates/x",
    }
    reps = 200

    def per(fn: Any) -> float:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return round((time.perf_counter() - t0) * 1000 / reps, 3)

    return {
        "hmac_sign_ms": per(lambda: signing.sign("c", "s" * 43, "POST", "/p", b"{}" * 40)),
        "facts_sign_ms": per(lambda: certificates.sign_facts(facts)),
        "badge_sign_ms": per(
            lambda: certificates.sign_badge(
                certificates.unsigned_badge(facts, "http://x"), "http://x", "2026"
            )
        ),
        "vault_decrypt_ms": per(_vault_roundtrip()),
    }


def _vault_roundtrip() -> Any:
    from prakerja.identity import vault

    blob = vault.encrypt_text("secret" * 7)
    return lambda: vault.decrypt_text(blob)


def run() -> dict[str, Any]:
    url = scratch.url_of(DB_NAME)
    scratch.recreate(DB_NAME)
    var = tempfile.mkdtemp(prefix="bench-learning-")
    env = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_VAR_DIR": var,
        "PRAKERJA_ENVIRONMENT": "test",
        "PRAKERJA_LOG_JSON": "1",
        "PRAKERJA_LOG_REQUESTS": os.environ.get("PRAKERJA_LOG_REQUESTS", "0"),
    }
    os.environ.update({k: env[k] for k in ("PRAKERJA_DATABASE_URL", "PRAKERJA_VAR_DIR")})
    from prakerja.kit import migrate
    from prakerja.settings import get_settings

    get_settings.cache_clear()
    proc = None
    try:
        migrate.upgrade(url)
        t0 = time.perf_counter()
        seed = _seed(url, N_ORDERS + N_BATCH_ORDERS)
        seed_s = time.perf_counter() - t0
        single_orders, batch_orders = seed["orders"][:N_ORDERS], seed["orders"][N_ORDERS:]
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("prakerja")),
                "serve",
                "--port",
                str(PORT),
                "--workers",
                str(WORKERS),
            ],
            env=env,
            cwd=Path(var),
            stdout=(Path(var) / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{PORT}"
        _wait_up(base, proc)
        single = _pass(
            base, seed, proc.pid, SINGLE_PATH, _single_bodies(single_orders), CONCURRENCY
        )
        batch = _pass(base, seed, proc.pid, BATCH_PATH, _batch_bodies(batch_orders), BATCH_CALLERS)
        batch["reports_per_call"] = BATCH_SIZE
        stored = _stored(url)
        return {
            "single": single,
            "batch": batch,
            "target_per_s": TARGET_PER_S,
            "met_single": single["per_s"] >= TARGET_PER_S,
            "met_batch": batch["per_s"] >= TARGET_PER_S,
            "stored": stored,
            "stored_as_answered": stored["completions"]
            == stored["certificates"]
            == single["reports"] + batch["reports"],
            "orders": N_ORDERS + N_BATCH_ORDERS,
            "workers": WORKERS,
            "seed_s": round(seed_s, 1),
            "per_report_cpu": _breakdown(url),
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        scratch.drop(DB_NAME)


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
