"""Partner completion reports per second through the signed API against `prakerja serve` on
PostgreSQL (target 1,000/s).

Each report is POST /api/partner/v1/completions, HMAC-signed by the platform: the server
verifies the signature (vault-decrypted secret, replay cache insert), records the completion
and issues the signed certificate (Ed25519 over canonical facts + the Open Badges proof). The
orders are seeded set-based as confirmed enrolments of a self-paced course (no sessions). A
second, in-process pass times the parts of one report to show where the time goes.
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

PG_ADMIN = os.environ.get(
    "PRAKERJA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = "prakerja_bench_learning"
TARGET_PER_S = 1000
N_ORDERS = int(os.environ.get("BENCH_COMPLETIONS", "6000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
CONCURRENCY = 32
PORT = 8931


def _admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


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


async def _fire(base: str, seed: dict[str, Any]) -> tuple[float, list[float], dict[int, int]]:
    from prakerja.marketplace import signing

    path = "/api/partner/v1/completions"
    queue: asyncio.Queue[str] = asyncio.Queue()
    for order in seed["orders"]:
        queue.put_nowait(order)
    latencies: list[float] = []
    statuses: dict[Any, int] = {}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            order = queue.get_nowait()
            body = json.dumps({"order_id": order, "pre_score": 40, "post_score": 80}).encode()
            headers = signing.sign(seed["client_id"], seed["secret"], "POST", path, body)
            headers["Content-Type"] = "application/json"
            t0 = time.perf_counter()
            try:
                resp = await client.post(path, content=body, headers=headers)
            except httpx.HTTPError as exc:  # counted, never hidden
                statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, latencies, statuses


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
    url_admin = PG_ADMIN.rsplit("/", 1)[0]
    url = f"{url_admin}/{DB_NAME}".replace("postgresql+psycopg://", "postgresql://")
    _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{DB_NAME}"')
    var = tempfile.mkdtemp(prefix="bench-learning-")
    env = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_VAR_DIR": var,
        "PRAKERJA_ENVIRONMENT": "test",
        "PRAKERJA_LOG_JSON": "1",
    }
    os.environ.update({k: env[k] for k in ("PRAKERJA_DATABASE_URL", "PRAKERJA_VAR_DIR")})
    from prakerja.kit import migrate
    from prakerja.settings import get_settings

    get_settings.cache_clear()
    proc = None
    try:
        migrate.upgrade(url)
        t0 = time.perf_counter()
        seed = _seed(url, N_ORDERS)
        seed_s = time.perf_counter() - t0
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
        seconds, lat, statuses = asyncio.run(_fire(base, seed))
        lat.sort()
        rate = len(lat) / seconds
        return {
            "reports": len(lat),
            "seconds": round(seconds, 2),
            "per_s": round(rate, 1),
            "target_per_s": TARGET_PER_S,
            "met": rate >= TARGET_PER_S,
            "statuses": statuses,
            "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
            "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
            "workers": WORKERS,
            "concurrency": CONCURRENCY,
            "seed_s": round(seed_s, 1),
            "per_report_cpu": _breakdown(url),
        }
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
