"""Pytest plugin: partner simulators as real servers on loopback, and a real SMTP server.

Each simulator runs as a separate process (`python -m prakerja.sim <kind> --port 0`) that
publishes its port in a file; the fixture waits for /healthz, points the matching PRAKERJA_*
setting at it (clearing the settings cache) and stops it at the end of the session.
`launch_sim` starts extra instances with other faults (e.g. every request hanging).
"""

from __future__ import annotations

import contextlib
import email
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from prakerja.settings import get_settings
from prakerja.sim.population import Population, generate

FAST = ("--latency-ms", "1-5")  # tests want realistic paths, not realistic waits
STARTUP_S = 30.0


@dataclass
class SimProcess:
    """One running simulator process."""

    kind: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stats(self) -> dict[str, int]:
        """Requests seen, hung and failed so far (GET /_sim/stats)."""
        counts: dict[str, int] = httpx.get(f"{self.url}/_sim/stats", timeout=5).json()
        return counts

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _wait_for_port(port_file: Path, process: subprocess.Popen[bytes], log_path: Path) -> int:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if port_file.exists():
            return int(port_file.read_text())
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited early:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"simulator did not start in {STARTUP_S} s:\n{log_path.read_text()}")


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url}/healthz never answered")


def start_sim(kind: str, workdir: Path, *args: str) -> SimProcess:
    """Start `python -m prakerja.sim <kind>` on a free loopback port and wait until healthy."""
    tag = f"{kind}-{uuid.uuid4().hex[:8]}"
    port_file, log_path = workdir / f"{tag}.port", workdir / f"{tag}.log"
    cmd = [
        sys.executable,
        "-m",
        "prakerja.sim",
        kind,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        *FAST,
        *args,
    ]
    with log_path.open("wb") as log:
        env = {**os.environ, "PRAKERJA_SIM_EXIT_WITH_PARENT": "1"}
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    port = _wait_for_port(port_file, process, log_path)
    sim = SimProcess(kind, f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_healthy(sim.url)
    except RuntimeError:
        sim.stop()
        raise
    return sim


@contextlib.contextmanager
def pointed_at(**settings: str) -> Iterator[None]:
    """Set PRAKERJA_<NAME> variables (and refresh settings) for the block, then restore."""
    saved = {k: os.environ.get(f"PRAKERJA_{k.upper()}") for k in settings}
    os.environ.update({f"PRAKERJA_{k.upper()}": v for k, v in settings.items()})
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(f"PRAKERJA_{key.upper()}", None)
            else:
                os.environ[f"PRAKERJA_{key.upper()}"] = value
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def sim_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sims")


@pytest.fixture(scope="session")
def launch_sim(sim_workdir: Path) -> Iterator[Callable[..., SimProcess]]:
    """Factory: `launch_sim("registry", "--population", path, "--timeout-rate", "1")`; every
    instance it starts is stopped at the end of the session."""
    started: list[SimProcess] = []

    def launch(kind: str, *args: str) -> SimProcess:
        sim = start_sim(kind, sim_workdir, *args)
        started.append(sim)
        return sim

    yield launch
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def sim_population(sim_workdir: Path) -> tuple[Population, Path]:
    """A small seeded population (about 600 people) and the JSONL file holding it."""
    population = generate(600, seed=20240701)
    path = sim_workdir / "population.jsonl"
    population.write_jsonl(path)
    return population, path


@dataclass
class RegistrySim:
    """The running registry simulator and the people it knows."""

    url: str
    population: Population
    population_file: Path
    process: SimProcess


@pytest.fixture(scope="session")
def registry_sim(
    launch_sim: Callable[..., SimProcess], sim_population: tuple[Population, Path]
) -> Iterator[RegistrySim]:
    """Civil registry simulator; PRAKERJA_REGISTRY_URL points at it."""
    population, path = sim_population
    sim = launch_sim("registry", "--population", str(path))
    with pointed_at(registry_url=sim.url):
        yield RegistrySim(sim.url, population, path, sim)


@pytest.fixture(scope="session")
def face_sim(launch_sim: Callable[..., SimProcess]) -> Iterator[SimProcess]:
    """Face-check simulator; PRAKERJA_FACE_URL points at it."""
    sim = launch_sim("face")
    with pointed_at(face_url=sim.url):
        yield sim


@dataclass
class SmsSim:
    """The running SMS gateway simulator, with readers for what each number received."""

    url: str
    process: SimProcess

    def messages(self, to: str) -> list[str]:
        """Texts received by `to` (any of 08.., 628.., +628..), oldest first."""
        resp = httpx.get(f"{self.url}/sms", params={"to": to}, timeout=5)
        resp.raise_for_status()
        return [m["text"] for m in resp.json()["messages"]]

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[str]:
        """Wait until `to` has at least `count` messages; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            texts = self.messages(to)
            if len(texts) >= count:
                return texts
            if time.monotonic() > deadline:
                raise AssertionError(f"{to} received {len(texts)} SMS, expected {count}")
            time.sleep(0.05)

    def clear(self) -> None:
        httpx.delete(f"{self.url}/sms", timeout=5).raise_for_status()


@pytest.fixture(scope="session")
def sms_sim_session(launch_sim: Callable[..., SimProcess]) -> Iterator[SmsSim]:
    """SMS gateway simulator process for the session; PRAKERJA_SMS_GATEWAY_URL points at it."""
    sim = launch_sim("sms")
    with pointed_at(sms_gateway_url=sim.url):
        yield SmsSim(sim.url, sim)


@pytest.fixture
def sms_sim(sms_sim_session: SmsSim) -> SmsSim:
    """The session's SMS gateway simulator with an empty outbox: each test database restarts
    notification ids, so client_refs from an earlier test must not count as duplicates."""
    sms_sim_session.clear()
    # Point at it again: another test in this worker may have left the setting elsewhere.
    os.environ["PRAKERJA_SMS_GATEWAY_URL"] = sms_sim_session.url
    get_settings.cache_clear()
    return sms_sim_session


@pytest.fixture
def sms_messages(sms_sim: SmsSim) -> Callable[[str], list[str]]:
    """`sms_messages(to)` -> texts that number received."""
    return sms_sim.messages


class Mailbox:
    """Messages an SMTP server accepted, readable from tests while the server runs."""

    def __init__(self) -> None:
        self._received: list[tuple[list[str], EmailMessage]] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._changed:
            self._received.append(([r.lower() for r in envelope.rcpt_tos], message))
            self._changed.notify_all()
        return "250 Message accepted"

    def messages(self, to: str) -> list[EmailMessage]:
        """Every message delivered to `to`, oldest first."""
        with self._changed:
            return [m for rcpts, m in self._received if to.lower() in rcpts]  # type: ignore[misc]

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """Wait until `to` has at least `count` messages; return the newest."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages(to)) >= count, timeout):
                raise AssertionError(f"no mail #{count} for {to} within {timeout} s")
            return self.messages(to)[-1]

    def latest_text(self, to: str, timeout: float = 10.0) -> str:
        """Plain-text body of the newest message to `to` (waits for one)."""
        body = self.wait_for(to, 1, timeout).get_body(preferencelist=("plain",))
        return "" if body is None else str(body.get_content())  # type: ignore[attr-defined]

    def clear(self) -> None:
        with self._changed:
            self._received.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def smtp_server_session() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback for the session; PRAKERJA_SMTP_HOST/PORT point
    at it."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    for attempt in range(5):  # the free port can be taken between probe and bind
        controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
        try:
            controller.start()
            break
        except Exception:
            if attempt == 4:
                raise
    with pointed_at(smtp_host="127.0.0.1", smtp_port=str(controller.port)):
        yield mailbox
    controller.stop()


@pytest.fixture
def smtp_server(smtp_server_session: Mailbox) -> Mailbox:
    """The session's SMTP server with an empty mailbox."""
    smtp_server_session.clear()
    return smtp_server_session
