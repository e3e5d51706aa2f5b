"""Load generator for the registration burst: N concurrent simulated citizens over HTTP.

Runs as its own process (`python -m bench.loadgen PLAN.json`) so its CPU is measured apart from
the server's. Each simulated citizen makes two calls on a keep-alive connection of its own
client: POST /api/v1/auth/register (a new account) and POST /api/v1/registration/identity (NIK,
KK and birth date, with a pre-opened session cookie). Loopback only, over bench.rawhttp (httpx
cost 4-12 ms of CPU per call, which this 2-core machine would take from the server). Protocol
on stdout: after the warm-up it prints `ready`, waits for one line on stdin, runs the measured
burst (bounded by count and time) and prints one JSON line of results.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench import rawhttp

REGISTER, IDENTITY = "/api/v1/auth/register", "/api/v1/registration/identity"
PASSWORD = "Kopi-tubruk-Senja-2026"  # noqa: S105 (a throwaway bench account)


@dataclass
class Tally:
    """Latencies (ms) per endpoint, completed sign-ups, and every unexpected answer."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {REGISTER: [], IDENTITY: []})
    signup_ms: list[float] = field(default_factory=list)
    registry: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


async def _call(
    client: rawhttp.Connection,
    path: str,
    body: dict[str, Any],
    tally: Tally,
    expect: int,
    headers: dict[str, str],
) -> rawhttp.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request("POST", path, json_body=body, headers=headers)
    except rawhttp.HTTPError as exc:
        tally.errors.append({"path": path, "error": str(exc)})
        return None
    tally.latency[path].append((time.perf_counter() - started) * 1000)
    if response.status_code != expect:
        tally.errors.append(
            {"path": path, "status": response.status_code, "body": response.text[:300]}
        )
        return None
    return response


async def sign_up(client: rawhttp.Connection, item: dict[str, Any], tally: Tally) -> None:
    """One citizen: create an account, then submit identity on an already open session (no
    cookie jar: each citizen is a fresh browser)."""
    started = time.perf_counter()
    account = {"email": item["email"], "password": PASSWORD, "language": "id"}
    if await _call(client, REGISTER, account, tally, 201, {}) is None:
        return
    identity = {"nik": item["nik"], "kk": item["kk"], "birth_date": item["birth_date"]}
    cookie = {"Cookie": f"pk_session={item['token']}"}
    response = await _call(client, IDENTITY, identity, tally, 200, cookie)
    if response is None:
        return
    status = str(response.json().get("registry_status"))
    tally.registry[status] = tally.registry.get(status, 0) + 1
    tally.signup_ms.append((time.perf_counter() - started) * 1000)


def clients(url: str, concurrency: int) -> list[rawhttp.Connection]:
    """One keep-alive connection per concurrent citizen; plain HTTP, loopback only."""
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator only targets loopback")
    return [rawhttp.Connection(url, timeout=30) for _ in range(concurrency)]


async def burst(
    pool: list[rawhttp.Connection], items: list[dict[str, Any]], deadline_s: float
) -> tuple[Tally, float]:
    """Run `items` through the clients until done or the deadline; (tally, seconds)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    tally, started = Tally(), time.perf_counter()
    stop_at = started + deadline_s

    async def citizen(client: rawhttp.Connection) -> None:
        while time.perf_counter() < stop_at:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await sign_up(client, item, tally)

    await asyncio.gather(*(citizen(c) for c in pool))
    return tally, time.perf_counter() - started


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in ms (nearest rank), None when there are no samples."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))], 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1], 1)}


def summary(tally: Tally, seconds: float, planned: int, concurrency: int) -> dict[str, Any]:
    """The burst's numbers as one JSON-able dict."""
    done = len(tally.signup_ms)
    return {
        "planned": planned,
        "completed": done,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "signups_per_s": round(done / seconds, 1) if seconds else 0.0,
        "latency_ms": {
            "register": percentiles(tally.latency[REGISTER]),
            "identity": percentiles(tally.latency[IDENTITY]),
            "signup_both_calls": percentiles(tally.signup_ms),
        },
        "registry_status": tally.registry,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
    }


async def main(plan_path: str) -> None:
    with open(plan_path) as fh:
        plan = json.load(fh)
    items, conc, warm = plan["items"], int(plan["concurrency"]), int(plan.get("warmup", 0))
    pool = clients(plan["url"], conc)
    warm_tally, _ = await burst(pool, items[:warm], 120.0)
    print("ready", len(warm_tally.errors), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    tally, seconds = await burst(pool, items[warm:], float(plan["max_seconds"]))
    print(json.dumps(summary(tally, seconds, len(items) - warm, conc)), flush=True)
    await asyncio.gather(*(c.close() for c in pool))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
