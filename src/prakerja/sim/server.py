"""What every simulator shares: injected faults (latency, hangs, 503s), /healthz, request
counters, and serving a FastAPI app with uvicorn on a socket we bind ourselves (port 0 picks a
free port, written to a file so a parent process learns it without a race).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def parse_latency(text: str) -> tuple[int, int]:
    """'20-80' or '20,80' -> (20, 80); '5' -> (5, 5). Milliseconds, low <= high."""
    parts = [p for p in text.replace(",", "-").split("-") if p.strip()]
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"latency must look like 20-80 (ms), got {text!r}")
    low, high = int(parts[0]), int(parts[-1])
    if low < 0 or high < low:
        raise ValueError(f"latency range must be 0 <= low <= high, got {text!r}")
    return low, high


@dataclass(frozen=True)
class Faults:
    """How badly a simulated partner behaves; rates are fractions of requests."""

    latency_ms: tuple[int, int] = (20, 80)
    timeout_rate: float = 0.0  # these requests hang for hang_s (past any client timeout)
    error_rate: float = 0.0  # these requests get 503
    hang_s: float = 30.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("timeout_rate", "error_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.timeout_rate + self.error_rate > 1.0:
            raise ValueError("timeout_rate + error_rate must not exceed 1")

    @classmethod
    def from_env(cls) -> Faults:
        """Defaults from PRAKERJA_SIM_LATENCY_MS / _TIMEOUT_RATE / _ERROR_RATE / _HANG_S."""
        return cls(
            latency_ms=parse_latency(os.environ.get("PRAKERJA_SIM_LATENCY_MS", "20-80")),
            timeout_rate=_env_float("PRAKERJA_SIM_TIMEOUT_RATE", 0.0),
            error_rate=_env_float("PRAKERJA_SIM_ERROR_RATE", 0.0),
            hang_s=_env_float("PRAKERJA_SIM_HANG_S", 30.0),
        )


@dataclass
class Disturber:
    """Applies Faults to each request and counts what happened (served at /_sim/stats)."""

    faults: Faults
    counts: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "timeouts": 0, "errors": 0}
    )

    def __post_init__(self) -> None:
        self._rng = random.Random(self.faults.seed)  # noqa: S311 - simulation, not security

    async def disturb(self) -> JSONResponse | None:
        """Sleep the configured latency; return a 503 response to send instead, or None."""
        f, self.counts["requests"] = self.faults, self.counts["requests"] + 1
        roll = self._rng.random()
        if roll < f.timeout_rate:
            self.counts["timeouts"] += 1
            await asyncio.sleep(f.hang_s)
            return _unavailable()
        await asyncio.sleep(self._rng.uniform(*f.latency_ms) / 1000)
        if roll < f.timeout_rate + f.error_rate:
            self.counts["errors"] += 1
            return _unavailable()
        return None


def _unavailable() -> JSONResponse:
    return JSONResponse(
        {"error": "service_unavailable"}, status_code=503, headers={"Retry-After": "1"}
    )


def base_app(title: str, disturber: Disturber) -> FastAPI:
    """A FastAPI app with /healthz and /_sim/stats (neither is disturbed)."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": title}

    @app.get("/_sim/stats")
    async def stats() -> dict[str, int]:
        return dict(disturber.counts)

    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 lets the OS choose."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def write_port(port_file: Path | None, sock: socket.socket) -> None:
    """Atomically publish the bound port for a waiting parent process."""
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(sock.getsockname()[1]))
        tmp.replace(port_file)


def make_server(app: FastAPI, sock: socket.socket) -> uvicorn.Server:
    """A quiet uvicorn server for `app` (run it with `.run(sockets=[sock])`)."""
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


def _exit_with_parent() -> None:
    """With PRAKERJA_SIM_EXIT_WITH_PARENT=1, stop when the launching process dies (a killed test
    run must not leave simulators behind)."""
    if os.environ.get("PRAKERJA_SIM_EXIT_WITH_PARENT") != "1":
        return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def serve(app: FastAPI, host: str, port: int, port_file: Path | None = None) -> None:
    """Serve until SIGINT/SIGTERM."""
    _exit_with_parent()
    sock = bind(host, port)
    server = make_server(app, sock)
    write_port(port_file, sock)
    server.run(sockets=[sock])


def serve_many(apps: list[tuple[FastAPI, int]], host: str) -> None:
    """Serve several apps, one thread each, until SIGINT/SIGTERM reaches the main thread."""
    _exit_with_parent()
    servers = [
        (make_server(app, sock), sock)
        for app, sock in ((app, bind(host, port)) for app, port in apps)
    ]
    threads = [
        threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
        for srv, sock in servers
    ]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for thread in threads:
        thread.start()
    while not stop.wait(0.5) and all(t.is_alive() for t in threads):
        pass
    for srv, _ in servers:
        srv.should_exit = True
    for thread in threads:
        thread.join(timeout=5)
