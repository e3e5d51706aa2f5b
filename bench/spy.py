"""Where a server's CPU goes during a bench: py-spy samples of each worker's on-CPU Python
stacks (only the thread holding the GIL), summed per function and per library. Used by the
registration and purchase benches when py-spy is installed (`pip install py-spy`; not a
dependency of the project); without it they report no profile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with open(task / "children") as fh:
            out += [int(c) for c in fh.read().split()]
    return out


def workers_of(server_pid: int) -> list[int]:
    """The uvicorn worker processes (spawned children) of the server."""
    return [
        c for c in children(server_pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
    ]


def start_profiles(work: Path, pids: list[int], seconds: float) -> list[tuple[Path, Any]]:
    """Sample each server worker's on-CPU Python stacks for the burst (py-spy record, raw)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return []
    out = []
    for pid in pids:
        path = work / f"spy-{pid}.txt"
        cmd = [
            str(spy),
            "record",
            "-p",
            str(pid),
            "-d",
            str(int(seconds)),
            "-r",
            "50",
            "--format",
            "raw",
            "--nonblocking",
            "--gil",  # only the thread holding the GIL: Python CPU, not waits on sockets
            "-o",
            str(path),
        ]
        out.append(
            (path, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        )
    return out


PROFILED = (
    "prakerja/",
    "/sqlalchemy/",
    "/psycopg/",
    "/httpx/",
    "/httpcore/",
    "/pydantic",
    "/cryptography/",
    "/argon2/",
    "/structlog/",
)


def _ours(frame: str) -> bool:
    return any(part in frame for part in PROFILED)


def _label(frame: str) -> str:
    """'function (file.py)' from py-spy's 'function (path/file.py:line)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1].split(':')[0]})"


# Where a sample's innermost frame lives says which layer spent the CPU (self time).
LAYERS = (
    ("prakerja code", ("/prakerja/",)),
    ("SQLAlchemy (ORM, SQL compile, pool)", ("/sqlalchemy/",)),
    ("psycopg (PostgreSQL driver)", ("/psycopg",)),
    ("registry HTTP client (httpx, httpcore, h11)", ("/httpx/", "/httpcore/", "/h11/")),
    ("pydantic (request/response models)", ("/pydantic",)),
    (
        "web stack (uvicorn, starlette, fastapi, anyio, asyncio, threads)",
        (
            *("/uvicorn/", "/starlette/", "/fastapi/", "/anyio/", "/asyncio/", "/uvloop/"),
            *("threading.py", "queue.py", "contextlib.py", "selectors.py"),
        ),
    ),
    ("crypto (cryptography, argon2)", ("/cryptography/", "/argon2/")),
    ("logging (structlog)", ("/structlog/", "/logging/")),
)


def _layer(frame: str) -> str:
    where = "/" + frame.partition(" (")[2]  # py-spy names site-packages files relatively
    for name, parts in LAYERS:
        if any(part in where for part in parts):
            return name
    return "other (stdlib: json, re, datetime, ...)"


def read_profiles(spies: list[tuple[Path, Any]], top: int = 25) -> dict[str, Any]:
    """Share of on-CPU samples (inclusive) per function of prakerja and the libraries it calls,
    and the self time per layer (the innermost frame's library), both in percent."""
    counts: dict[str, int] = {}
    layers: dict[str, int] = {}
    total = 0
    for path, proc in spies:
        proc.send_signal(signal.SIGINT)  # ends sampling early; py-spy still writes the file
        proc.wait(timeout=30)
        lines = path.read_text().splitlines() if path.exists() else []
        if lines and os.environ.get("BENCH_PROFILE_DIR"):  # keep the raw stacks to read later
            keep = Path(os.environ["BENCH_PROFILE_DIR"])
            keep.mkdir(parents=True, exist_ok=True)
            (keep / path.name).write_text("\n".join(lines))
        for line in lines:
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():  # a line py-spy was cut off in when it was stopped
                continue
            total += int(n)
            frames = stack.split(";")
            layer = _layer(frames[-1])
            layers[layer] = layers.get(layer, 0) + int(n)
            for frame in dict.fromkeys(_label(f) for f in frames if _ours(f)):
                counts[frame] = counts.get(frame, 0) + int(n)
    if not total:
        return {}
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return {
        "self_time_by_layer": {
            k: round(100 * v / total, 1) for k, v in sorted(layers.items(), key=lambda kv: -kv[1])
        },
        "inclusive_by_function": {k: round(100 * v / total, 1) for k, v in ranked},
    }
