"""Registration burst: sign-ups per second through `prakerja serve` on PostgreSQL.

Per simulated citizen, over HTTP on loopback: POST /api/v1/auth/register (account creation and
its confirmation email job) and POST /api/v1/registration/identity (NIK/KK validation, the
civil-registry check through the simulator process, the encrypted writes). The password hash
is measured apart (bench/bench_password.py); here the server's workers use argon2id at its
minimum cost (m=8 KiB, t=1), patched into the bench's own app factory, so no product code
knows about benchmarks. Sessions for the identity call are pre-created set-based in SQL.

The app is served exactly as `prakerja serve --workers N` serves it (uvicorn, N processes); the
load generator (bench/loadgen.py), the registry simulator and PostgreSQL are separate
processes, and the CPU each used during the burst is read from /proc.
Run: python -m bench.bench_registration  (or `make bench BENCH_ARGS=registration`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench import scratch
from bench.spy import children, read_profiles, start_profiles, workers_of

DB_NAME = "prakerja_bench_reg"
TARGET = {"signups_per_s": 1333, "p99_ms": 300, "errors": 0}
ROOT = Path(__file__).resolve().parents[1]


# --- the server: the product's app factory with a cheap password hash ---------------------------


def fast_hash_app() -> Any:
    """`prakerja.app.create_app()` with argon2id at minimum cost (bench processes only)."""
    from argon2 import PasswordHasher, Type

    from prakerja.app import create_app
    from prakerja.identity import passwords

    passwords._hasher = PasswordHasher(
        time_cost=1, memory_cost=8, parallelism=1, hash_len=16, salt_len=16, type=Type.ID
    )
    app = create_app()
    ready_dir = os.environ.get("BENCH_READY_DIR")
    if ready_dir:  # tells the bench this worker has its app (uvicorn shares one socket)
        (Path(ready_dir) / str(os.getpid())).touch()
    return app


def serve(port: int, workers: int) -> None:
    """The same uvicorn call as `prakerja serve`, with the factory above."""
    import uvicorn

    uvicorn.run(
        "bench.bench_registration:fast_hash_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


# --- database ----------------------------------------------------------------------------------


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh, migrated prakerja_bench_reg; dropped afterwards."""
    from prakerja.kit import migrate

    scratch.recreate(DB_NAME)
    url = scratch.url_of(DB_NAME)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        scratch.drop(DB_NAME)


def precreate_sessions(url: str, count: int) -> list[str]:
    """`count` verified citizen accounts, each with an open web session; the clear tokens."""
    from prakerja.identity import tokens

    clear = [tokens.new_token() for _ in range(count)]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        ids = conn.scalars(
            text(
                "INSERT INTO account (public_id, email, password_hash, kind, roles, status,"
                " language, failed_logins, email_verified_at, created_at)"
                " SELECT md5(g::text || random()::text),"
                " 'pre' || g || '@bench.example', 'no-login', 'citizen', '', 'active', 'id', 0,"
                " now(), now() FROM generate_series(1, :n) g ORDER BY g RETURNING id"
            ),
            {"n": count},
        ).all()
        conn.execute(
            text(
                "INSERT INTO web_session (token_hash, account_id, ip, created_at, last_seen_at)"
                " SELECT h, a, '127.0.0.1', now(), now()"
                " FROM unnest(CAST(:h AS text[]), CAST(:a AS bigint[])) AS t(h, a)"
            ),
            {"h": [tokens.token_hash(t) for t in clear], "a": list(ids)},
        )
    engine.dispose()
    return clear


# --- processes ---------------------------------------------------------------------------------


def _wait_file(path: Path, process: subprocess.Popen[bytes], seconds: float = 240) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited early")
        time.sleep(0.05)
    raise RuntimeError(f"{path} never appeared")


def _wait_http(url: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def start_registry(work: Path, population_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The civil-registry simulator as its own process, 20-80 ms latency, no injected faults."""
    port_file = work / "registry.port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prakerja.sim",
            "registry",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--population",
            str(population_file),
            "--latency-ms",
            "20-80",
        ],
        stdout=(work / "registry.log").open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PRAKERJA_SIM_EXIT_WITH_PARENT": "1"},
    )
    try:
        url = f"http://127.0.0.1:{_wait_file(port_file, proc)}"
        _wait_http(f"{url}/healthz")
    except RuntimeError:
        stop(proc)
        raise
    return proc, url


def start_server(
    work: Path, env: dict[str, str], workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    from tests.livesrv import free_port

    port, ready = free_port(), work / "ready"
    ready.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_registration", "serve", str(port), str(workers)],
        cwd=ROOT,
        env={**env, "BENCH_READY_DIR": str(ready)},
        stdout=(work / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/healthz")
        _wait_workers(ready, workers, proc)
    except RuntimeError:
        stop(proc)
        raise
    return proc, url


def _wait_workers(ready: Path, workers: int, proc: subprocess.Popen[bytes]) -> None:
    """Block until every worker built its app: /healthz answers as soon as one has."""
    deadline = time.monotonic() + 240
    while len(list(ready.iterdir())) < workers:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"only {len(list(ready.iterdir()))} of {workers} workers started")
        time.sleep(0.2)


def _log_tail(path: Path, lines: int = 8) -> list[str]:
    """The server's last warnings (e.g. uvicorn restarting a worker that missed a ping)."""
    text_ = path.read_text(errors="replace") if path.exists() else ""
    return [line[:200] for line in text_.splitlines()[-lines:]]


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- CPU accounting from /proc -----------------------------------------------------------------


def cpu_ns(pid: int) -> int:
    """Nanoseconds all threads of a process ran on a CPU (schedstat: exact, unlike tick-sampled
    utime, which misses short bursts such as a PostgreSQL backend's queries); 0 if it is gone."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):  # every thread (the threadpool too)
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    return max(total, _stat_ns(pid))


def _stat_ns(pid: int) -> int:
    """utime + stime from /proc/<pid>/stat, which still counts threads that have ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def postgres_pids(url: str) -> tuple[list[int], list[int]]:
    """(backends connected to the bench database, every postgres process on the machine)."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        ours = list(
            conn.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": DB_NAME},
            )
        )
    engine.dispose()
    every = [
        int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _comm(p) == "postgres"
    ]
    return ours, every


def _comm(proc_dir: Path) -> str:
    try:
        return (proc_dir / "comm").read_text().strip()
    except OSError:
        return ""


def snapshot(groups: dict[str, list[int]]) -> dict[int, int]:
    """CPU nanoseconds per pid of every group."""
    return {p: cpu_ns(p) for pids in groups.values() for p in pids}


def cpu_seconds(
    groups: dict[str, list[int]], before: dict[int, int], after: dict[int, int]
) -> dict[str, float]:
    """CPU seconds each group used in between; a process that exited meanwhile counts as zero."""
    return {
        name: sum(max(0, after[p] - before[p]) for p in pids if after[p]) / 1e9
        for name, pids in groups.items()
    }


# --- the burst ---------------------------------------------------------------------------------


def plan_items(population_file: Path, tokens: list[str], run_tag: str) -> list[dict[str, Any]]:
    """One sign-up per pre-opened session: a fresh email and an adult the registry knows."""
    import polars as pl

    today = dt.datetime.now(dt.UTC).date()
    frame = pl.read_ndjson(population_file).filter(
        pl.col("birth_date")
        .str.to_date()
        .is_between(today.replace(year=today.year - 60), today.replace(year=today.year - 19))
    )
    people = frame.head(len(tokens)).select("nik", "kk", "birth_date").to_dicts()
    if len(people) < len(tokens):
        raise RuntimeError("population too small for the planned sign-ups")
    return [
        {**p, "email": f"burst-{run_tag}-{i}@bench.example", "token": tokens[i]}
        for i, p in enumerate(people)
    ]


def _burst(
    work: Path,
    url: str,
    db_url: str,
    items: list[dict[str, Any]],
    concurrency: int,
    warmup: int,
    max_seconds: float,
    groups: dict[str, list[int]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    plan = work / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "url": url,
                "items": items,
                "concurrency": concurrency,
                "warmup": warmup,
                "max_seconds": max_seconds,
            }
        )
    )
    gen = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen", str(plan)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if gen.stdin is None or gen.stdout is None:
        raise RuntimeError("load generator pipes missing")
    ready = gen.stdout.readline().split()
    if not ready or ready[0] != "ready":
        raise RuntimeError(f"load generator failed to warm up: {ready}")
    ours, every = postgres_pids(db_url)  # after the warm-up: the pools are open
    server_pid = groups["server_workers"][0]
    workers = workers_of(server_pid)
    groups = {
        **groups,
        "server_workers": [server_pid, *workers],
        "load_generator": [gen.pid],
        "postgres_bench_db": ours,
        "postgres_all": every,
    }
    before, started, load = snapshot(groups), time.monotonic(), os.getloadavg()
    gen.stdin.write("go\n")
    gen.stdin.flush()
    spies = start_profiles(work, workers, max_seconds)
    result = json.loads(gen.stdout.readline())
    after, wall = snapshot(groups), time.monotonic() - started
    gen.wait(timeout=30)
    cpu_profile = read_profiles(spies)
    used = cpu_seconds(groups, before, after)
    # uvicorn's supervisor kills a worker that misses its 5 s health ping and starts another
    result["postgres_backends_seen"] = len(ours)
    result["server_workers_replaced"] = len(set(workers) - set(workers_of(server_pid)))
    done = max(1, int(result["completed"]))
    result["cpu_ms_per_signup"] = {
        name: round(used[name] * 1000 / done, 2)
        for name in ("server_workers", "postgres_bench_db", "registry_sim", "load_generator")
    }
    cpu: dict[str, float] = {name: round(sec / wall, 3) for name, sec in used.items()}
    cpu["machine_cores"] = os.cpu_count() or 0
    return result, {
        "cores_used": cpu,
        "wall_s": round(wall, 2),
        "load_average_before": [round(x, 2) for x in load],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "warmup_errors": int(ready[1]) if len(ready) > 1 else None,
        "server_profile": cpu_profile,
    }


def run(
    signups: int = 4000,
    concurrency: int = 64,
    workers: int = 2,
    warmup: int = 100,
    max_seconds: float = 60.0,
) -> dict[str, Any]:
    """Measure the burst; returns rates, latencies, errors, CPU split and the load average."""
    from prakerja.sim.population import generate

    with tempfile.TemporaryDirectory(prefix="bench-reg-") as tmp, bench_database() as db_url:
        work = Path(tmp)
        population_file = work / "population.jsonl"
        generate(max(30_000, 4 * (signups + warmup)), seed=2024).write_jsonl(population_file)
        tokens = precreate_sessions(db_url, signups + warmup)
        items = plan_items(population_file, tokens, str(int(time.time())))
        registry, registry_url = start_registry(work, population_file)
        env = {
            **os.environ,
            "PRAKERJA_DATABASE_URL": db_url,
            "PRAKERJA_REGISTRY_URL": registry_url,
            "PRAKERJA_ENVIRONMENT": "dev",
            "PRAKERJA_DEV_INBOX": "0",
            "PRAKERJA_LOG_REQUESTS": os.environ.get("PRAKERJA_LOG_REQUESTS", "0"),
            # after the caller's own PYTHONPATH, so old code run from a git worktree
            # (PYTHONPATH=WORKTREE/src) is what the server runs too
            "PYTHONPATH": os.pathsep.join(filter(None, (os.environ.get("PYTHONPATH"), str(ROOT)))),
        }
        server, url = start_server(work, env, workers)
        try:
            groups = {
                "server_workers": [server.pid, *children(server.pid)],
                "registry_sim": [registry.pid],
            }
            result, cpu = _burst(work, url, db_url, items, concurrency, warmup, max_seconds, groups)
        finally:
            stop(server)
            stop(registry)
            result_log = _log_tail(work / "server.log")
    return {
        **result,
        **cpu,
        "server_processes": workers,
        "server_log_tail": result_log,
        "target": TARGET,
        "password_hash": "measured apart: see bench_password (argon2id m=19456 KiB, t=2)",
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        print(json.dumps(run(), indent=2))
