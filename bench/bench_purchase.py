"""Concurrent course purchases through the citizen HTTP API against `prakerja serve` on
PostgreSQL: start (SMS code) then confirm-code, for thousands of cards at once, with a share of
cards trying to buy a second course at the same moment (double-spend probe).

Afterwards the ledger is checked (`check_ledger`) and summed: every card holds exactly the price
of its one placed order, nothing is lost, nothing is spent twice. Database
prakerja_bench_purchase is created and dropped. Target: 500 purchases per second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from bench import rawhttp, scratch
from bench.spy import read_profiles, start_profiles, workers_of

DB_NAME = "prakerja_bench_purchase"
BUYERS = int(os.environ.get("PRAKERJA_BENCH_BUYERS", "3000"))
PROBE_SHARE = 10  # every 10th buyer also tries a second course at the same time
CONCURRENCY = 64
WORKERS = int(os.environ.get("PRAKERJA_BENCH_WORKERS", "2"))
NOW = dt.datetime.now(dt.UTC)


def _seed_market(db: Any) -> list[str]:
    """An active platform and provider, two approved unlimited courses; their public ids."""
    from prakerja.marketplace import rules, service_catalogue, service_partner

    with db.transaction() as s:
        partners = []
        for kind in ("platform", "provider"):
            p = service_partner.apply(
                s, code=f"bench-{kind}", name=kind, kind=kind, actor="bench", now=NOW
            )
            for step in ("due_diligence", "assessment", "approved", "active"):
                service_partner.advance(s, partner_id=p.id, to=step, actor="bench", now=NOW)
            partners.append(p)
        courses = []
        for ref, price in (("a", 1_000_000), ("b", 900_000)):
            data = rules.CourseInput(
                ref, "bench-provider", f"Kursus {ref}", "Bench", "self_paced", 16, price
            )
            c, _ = service_catalogue.publish_course(s, platform=partners[0], data=data, now=NOW)
            service_catalogue.assess_course(s, course_id=c.id, approve=True, actor="b", now=NOW)
            courses.append(c.public_id)
    return courses


def _seed_buyer(s: Any, i: int) -> dict[str, str]:
    from prakerja.identity.model import Account
    from prakerja.identity.service_session import open_session
    from prakerja.registration.model import Person
    from prakerja.wallet import service_card

    acc = Account(
        public_id=uuid.uuid4().hex,
        email=f"b{i}@bench.id",
        password_hash="!",  # noqa: S106 - bench accounts never log in by password
        kind="citizen",
        roles="",
        status="active",
        language="id",
        failed_logins=0,
        created_at=NOW,
        email_verified_at=NOW,
        phone=f"+62811{i:08d}",
        phone_verified_at=NOW,
    )
    s.add(acc)
    s.flush()
    person = Person(account_id=acc.id, created_at=NOW, updated_at=NOW)
    s.add(person)
    s.flush()
    card = service_card.issue_card(
        s, application_id=i + 1, person_id=person.id, wave_id=1, policy_version_id=None, now=NOW
    )
    web = open_session(s, account_id=acc.id, ip="127.0.0.1", now=NOW)
    return {"token": web.token, "card": card.number, "phone": str(acc.phone)}


def _seed(url: str) -> dict[str, Any]:
    """Two courses and BUYERS citizens with a verified phone, a funded card and a session."""
    from prakerja.kit.db import Database

    db = Database(url)
    courses = _seed_market(db)
    buyers = []
    for start in range(0, BUYERS, 500):
        with db.transaction() as s:
            buyers += [_seed_buyer(s, i) for i in range(start, min(start + 500, BUYERS))]
    db.dispose()
    return {"courses": courses, "buyers": buyers}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "PRAKERJA_DATABASE_URL": url,
        "PRAKERJA_ENVIRONMENT": "dev",
        "PRAKERJA_DEV_INBOX": "1",
        "PRAKERJA_LOG_REQUESTS": os.environ.get("PRAKERJA_LOG_REQUESTS", "0"),
    }
    exe = Path(sys.executable).with_name("prakerja")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--workers", str(WORKERS)], env=env
    )
    deadline = time.monotonic() + 240  # app start-up imports every context (slow, loaded box)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("prakerja serve did not start")


def _cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    return sum(_cpu_seconds(p.pid) for p in procs)


def _cpu_seconds(root: int) -> float:
    """User+system CPU of a process tree (from /proc), to say where time goes."""
    pids = [root] + [
        int(e) for e in os.listdir("/proc") if e.isdigit() and _stat(int(e))[1:2] == [str(root)]
    ]
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if len(fields) > 12 and fields[11].isdigit() and fields[12].isdigit():
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name; [] for a process gone meanwhile."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


async def _phase(base: str, jobs: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """POST every (token, path, body) with CONCURRENCY in flight, one keep-alive connection
    each (bench.rawhttp: the load generator must not eat the server's CPU); latencies and
    statuses."""
    queue = list(enumerate(jobs))[::-1]
    lat: list[float] = []
    answers: list[tuple[int, Any]] = [(0, None)] * len(jobs)

    async def caller(conn: rawhttp.Connection) -> None:
        while queue:
            i, (token, path, body) = queue.pop()
            t0 = time.perf_counter()
            try:
                resp = await conn.request(
                    "POST", path, json_body=body, headers={"Cookie": f"pk_session={token}"}
                )
            except rawhttp.HTTPError as exc:  # counted as status 0, never fatal to the run
                answers[i] = (0, {"transport_error": str(exc)})
                continue
            lat.append(time.perf_counter() - t0)
            answers[i] = (resp.status_code, resp.json())

    conns = [rawhttp.Connection(base) for _ in range(CONCURRENCY)]
    start = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in conns))
    wall = time.perf_counter() - start
    for conn in conns:
        await conn.close()
    lat.sort()
    codes: dict[int, int] = {}
    for code, _ in answers:
        codes[code] = codes.get(code, 0) + 1
    return {
        "requests": len(jobs),
        "seconds": round(wall, 2),
        "per_second": int(len(jobs) / wall),
        "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
        "p95_ms": round(lat[int(len(lat) * 0.95)] * 1000, 1),
        "statuses": codes,
        "answers": answers,
    }


def _codes(url: str) -> dict[tuple[str, str], str]:
    """The purchase SMS code per (phone, course title), read from the outbox (not timed)."""
    from prakerja.kit.notify import Notification

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    out: dict[tuple[str, str], str] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(Notification.recipient, Notification.body).where(
                Notification.body.like("%membeli Kursus%")
            )
        )
        for phone, body in rows:
            match = re.search(r"\b(\d{6})\b.*membeli (Kursus \w)", body)
            if match:
                out[(phone, match.group(2))] = match.group(1)
    engine.dispose()
    return out


def _verify(url: str, buyers: int) -> dict[str, Any]:
    from prakerja.kit.db import Database
    from prakerja.marketplace.model import Order
    from prakerja.wallet.check import check_ledger
    from prakerja.wallet.model import LedgerAccount

    db = Database(url)
    with db.sessions() as s:
        problems = check_ledger(s)
        pending = s.execute(
            select(func.count(), func.coalesce(func.sum(Order.amount), 0)).where(
                Order.status == "pending"
            )
        ).one()
        held = s.scalar(
            select(func.sum(LedgerAccount.held)).where(LedgerAccount.kind == "recipient")
        )
        balance = s.scalar(
            select(func.sum(LedgerAccount.balance)).where(LedgerAccount.kind == "recipient")
        )
        open_orders = (
            select(func.count().label("n"))
            .where(Order.status == "pending")
            .group_by(Order.card_id)
            .subquery()
        )
        per_card = s.scalar(select(func.max(open_orders.c.n)))
    db.dispose()
    ok = (
        not problems
        and pending[0] == buyers
        and held == pending[1]
        and balance == buyers * 3_500_000
        and per_card == 1
    )
    return {
        "ok": ok,
        "ledger_problems": [p.__dict__ for p in problems[:5]],
        "orders_placed": pending[0],
        "held_total": held,
        "held_expected": pending[1],
        "max_open_orders_per_card": per_card,
    }


def _db_stats(url: str) -> tuple[int, int]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT xact_commit, tup_returned + tup_fetched "
                "FROM pg_stat_database WHERE datname = current_database()"
            )
        ).one()
    engine.dispose()
    return int(row[0]), int(row[1])


def _starts(seed: dict[str, Any]) -> tuple[list[Any], list[tuple[int, int]]]:
    """Start jobs and, for each, (buyer index, course index)."""
    jobs, meta = [], []
    for i, b in enumerate(seed["buyers"]):
        for k in range(2 if i % PROBE_SHARE == 0 else 1):
            course = seed["courses"][k]
            jobs.append(
                (
                    b["token"],
                    "/api/v1/orders",
                    {
                        "course_id": course,
                        "card_number": b["card"],
                        "idempotency_key": f"bench-{i}-{k}",
                    },
                )
            )
            meta.append((i, k))
    return jobs, meta


def _confirms(
    seed: dict[str, Any],
    meta: list[tuple[int, int]],
    started: dict[str, Any],
    codes: dict[tuple[str, str], str],
) -> list[Any]:
    jobs = []
    for (i, k), (status, body) in zip(meta, started["answers"], strict=True):
        buyer = seed["buyers"][i]
        code = codes.get((buyer["phone"], f"Kursus {'ab'[k]}"))
        if status == 201 and code:
            jobs.append(
                (buyer["token"], f"/api/v1/orders/{body['id']}/confirm-code", {"code": code})
            )
    return jobs


def run() -> dict[str, Any]:
    from prakerja.kit import migrate

    scratch.recreate(DB_NAME)
    url = scratch.url_of(DB_NAME)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        migrate.upgrade(url)
        t0 = time.perf_counter()
        seed = _seed(url)
        analyzed = scratch.analyze_unless_autovacuum(url)
        seed_s = time.perf_counter() - t0
        port = _free_port()
        procs = [_serve(url, port)]  # one server, WORKERS processes (one per core)
        base = f"http://127.0.0.1:{port}"
        starts, meta = _starts(seed)
        work = Path(tempfile.mkdtemp(prefix="bench-purchase-"))
        spies = start_profiles(work, workers_of(procs[0].pid), 600)
        cpu0, me0, db0 = _cpu(procs), time.process_time(), _db_stats(url)
        started = asyncio.run(_phase(base, starts))
        confirms = _confirms(seed, meta, started, _codes(url))
        confirmed = asyncio.run(_phase(base, confirms))
        cpu1, me1, db1 = _cpu(procs), time.process_time(), _db_stats(url)
        cpu_profile = read_profiles(spies)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    verified = _verify(url, BUYERS)
    scratch.drop(DB_NAME)
    wall = started["seconds"] + confirmed["seconds"]
    for phase in (started, confirmed):
        phase.pop("answers")
    return {
        "name": "purchase",
        "buyers": BUYERS,
        "server_workers": WORKERS,
        "concurrency": CONCURRENCY,
        "seed_seconds": round(seed_s, 1),
        "analyzed_after_seed (autovacuum off)": analyzed,
        "purchases_per_second": int(verified["orders_placed"] / wall),
        "target_per_second": 500,
        "start": started,
        "confirm_code": confirmed,
        "time_goes": {
            "server_cpu_s": round(cpu1 - cpu0, 1),
            "load_generator_cpu_s": round(me1 - me0, 1),
            "wall_s": round(wall, 1),
            "db_commits_per_purchase": round((db1[0] - db0[0]) / BUYERS, 1),
            "db_rows_read_per_purchase": round((db1[1] - db0[1]) / BUYERS, 1),
        },
        "verified": verified,
        "server_cpu_profile": cpu_profile,
    }


if __name__ == "__main__":
    print(json.dumps(run(), default=str))
