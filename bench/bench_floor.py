"""The stack's floor: what one HTTP call costs on this machine before any of prakerja's logic.

Context for the registration and purchase benches, not a capability of its own. Three apps
make the same call, POST /x with a small JSON body answered by 3 INSERT ... RETURNING statements
and a commit on PostgreSQL through psycopg:

- `asgi`: a bare ASGI app (uvicorn's floor); the statements run on the event loop.
- `fastapi_async`: an `async def` FastAPI route with pydantic body and answer models; the
  statements run on the event loop.
- `fastapi_thread`: the same route as a sync `def`, on a worker thread, which is how
  prakerja's routes run (kit.routing.new_router), with SQLAlchemy Core on a pooled engine.
- `fastapi_sqlalchemy_async`: the `async def` route with SQLAlchemy's asyncio engine (psycopg's
  async connections, pooled): what an async rewrite of the data layer would start from.

Then a purchase's worth: the `fastapi_async` app with as many statements per call as the
purchase's start and confirm calls run (`PURCHASE_SHAPE`), and what one purchase would cost
on this stack with no business logic at all.

Each is served by uvicorn with 2 worker processes; the load generator (bench.rawhttp, 64
keep-alive connections) runs in this process. CPU per call is read from /proc for the server,
the database backends and the load generator. Database prakerja_bench_floor is created and
dropped. Run: python -m bench floor.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import create_engine, text

from bench import rawhttp, scratch
from bench.bench_purchase import _free_port
from bench.bench_registration import cpu_ns, stop
from bench.spy import children

DB_NAME = "prakerja_bench_floor"
DB_URL = scratch.url_of(DB_NAME)
# Statements per call, set for the worker processes by `_serve`.
STATEMENTS = int(os.environ.get("BENCH_FLOOR_STATEMENTS", "3"))
# A purchase's worth: its start and confirm calls run 11 and 18 statements on PostgreSQL
# (caller lookup included; counted with a cursor event in a one-off test on 11-29).
PURCHASE_SHAPE = (11, 18)
INSERT = "INSERT INTO floor_row (nik, n) VALUES (%s, %s) RETURNING id"
CALLS, CONCURRENCY, WORKERS = 20_000, 64, 2
ROOT = Path(__file__).resolve().parents[1]


# --- the three apps (built in each uvicorn worker) ---------------------------------------

_connection: Any = None


def _psycopg() -> Any:
    """This worker's one connection; only the event loop's thread uses it."""
    global _connection
    if _connection is None:
        import psycopg

        _connection = psycopg.connect(DB_URL)
    return _connection


def _insert_all(nik: str) -> int:
    conn = _psycopg()
    with conn.cursor() as cur:
        for n in range(STATEMENTS):
            row = cur.execute(INSERT, (nik, n)).fetchone()
    conn.commit()
    return int(row[0])


def asgi() -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = json.dumps({"id": _insert_all(json.loads(body)["nik"])}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


class Call(BaseModel):
    nik: str = Field(min_length=16, max_length=16)


class Answer(BaseModel):
    id: int


def fastapi_async() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/x")
    async def route(body: Call) -> Answer:
        return Answer(id=_insert_all(body.nik))

    return app


def fastapi_thread() -> Any:
    from fastapi import FastAPI

    engine = create_engine(DB_URL.replace("postgresql://", "postgresql+psycopg://"), pool_size=40)
    statement = text("INSERT INTO floor_row (nik, n) VALUES (:nik, :n) RETURNING id")
    app = FastAPI()

    @app.post("/x")
    def route(body: Call) -> Answer:
        with engine.begin() as conn:
            for n in range(STATEMENTS):
                new = conn.execute(statement, {"nik": body.nik, "n": n}).scalar_one()
        return Answer(id=new)

    return app


def fastapi_sqlalchemy_async() -> Any:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        DB_URL.replace("postgresql://", "postgresql+psycopg://"), pool_size=40
    )
    statement = text("INSERT INTO floor_row (nik, n) VALUES (:nik, :n) RETURNING id")
    app = FastAPI()

    @app.post("/x")
    async def route(body: Call) -> Answer:
        async with engine.begin() as conn:
            for n in range(STATEMENTS):
                new = (await conn.execute(statement, {"nik": body.nik, "n": n})).scalar_one()
        return Answer(id=new)

    return app


# --- the run -------------------------------------------------------------------------------


def _serve(variant: str, port: int, statements: int) -> subprocess.Popen[bytes]:
    path = os.pathsep.join(filter(None, (os.environ.get("PYTHONPATH"), str(ROOT))))
    env = {**os.environ, "PYTHONPATH": path, "BENCH_FLOOR_STATEMENTS": str(statements)}
    cmd = [
        sys.executable, "-m", "uvicorn", f"bench.bench_floor:{variant}", "--factory",
        "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _backends() -> list[int]:
    engine = create_engine(scratch.ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": DB_NAME}
        ).all()
    engine.dispose()
    return list(pids)


async def _load(url: str, calls: int) -> float:
    clients = [rawhttp.Connection(url) for _ in range(CONCURRENCY)]
    left = iter(range(calls))

    async def caller(client: rawhttp.Connection) -> None:
        for i in left:
            answer = await client.request("POST", "/x", json_body={"nik": f"3201{i:012d}"})
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.status_code}: {answer.text[:200]}")
        await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in clients))
    return time.perf_counter() - started


def _measure(variant: str, statements: int = 3) -> dict[str, Any]:
    port = _free_port()
    server = _serve(variant, port, statements)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(_load(url, 1_000))  # warm-up: every worker connected and compiled
        server_pids = [server.pid, *children(server.pid)]
        pg_pids = _backends()
        before = {p: cpu_ns(p) for p in server_pids + pg_pids}
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        seconds = asyncio.run(_load(url, CALLS))
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        after = {p: cpu_ns(p) for p in server_pids + pg_pids}
    finally:
        stop(server)

    def per_call_ms(pids: list[int]) -> float:
        return round(sum(max(0, after[p] - before[p]) for p in pids) / 1e6 / CALLS, 3)

    load_s = (self_after.ru_utime + self_after.ru_stime) - (
        self_before.ru_utime + self_before.ru_stime
    )
    return {
        "calls_per_s": round(CALLS / seconds),
        "cpu_ms_per_call": {
            "server": per_call_ms(server_pids),
            "postgres": per_call_ms(pg_pids),
            "load_generator": round(load_s * 1000 / CALLS, 3),
        },
    }


def run() -> dict[str, Any]:
    scratch.recreate(DB_NAME)
    try:
        engine = create_engine(DB_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE floor_row (id bigserial PRIMARY KEY, nik text, n int)"))
        engine.dispose()
        variants = ("asgi", "fastapi_async", "fastapi_thread", "fastapi_sqlalchemy_async")
        results = {v: _measure(v) for v in variants}
        shaped = {n: _measure("fastapi_async", n) for n in PURCHASE_SHAPE}
    finally:
        scratch.drop(DB_NAME)
    per_purchase = {
        part: round(sum(r["cpu_ms_per_call"][part] for r in shaped.values()), 3)
        for part in ("server", "postgres", "load_generator")
    }
    machine_ms = sum(per_purchase.values())
    return {
        "calls": CALLS,
        "concurrency": CONCURRENCY,
        "server_processes": WORKERS,
        "statements_per_call": 3,
        "variants": results,
        "purchase_shaped_fastapi_async": {
            "calls": {f"{n}_statements": r for n, r in shaped.items()},
            "cpu_ms_per_purchase": per_purchase,
            # if the two cores did nothing else
            "purchases_per_s_at_two_cores": round(2000 / machine_ms) if machine_ms else None,
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
