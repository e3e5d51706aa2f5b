"""A hanging civil registry must not take the web site down with it (kit.partner_http's guard),
served by a real uvicorn server."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from prakerja.identity.service import COOKIE
from prakerja.kit import partner_http, routing
from prakerja.settings import get_settings
from tests.livesrv import serve
from tests.partner_stub import PartnerStub
from tests.registration.conftest import make_citizen

SUBMISSIONS = 10


@pytest.fixture
def hanging_registry(monkeypatch: pytest.MonkeyPatch):
    registry = PartnerStub()
    registry.status = 503
    registry.gate.clear()  # every call hangs until the test lets go
    for name, value in {
        "PRAKERJA_REGISTRY_URL": registry.url,
        "PRAKERJA_ADAPTER_TIMEOUT_S": "30",
        "PRAKERJA_WEB_THREADS": "8",  # 6 route threads
        "PRAKERJA_ADAPTER_MAX_IN_FLIGHT": "2",
        "PRAKERJA_ADAPTER_SLOT_WAIT_S": "0.2",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    partner_http.close_clients()
    monkeypatch.setattr(routing, "_limiters", {})  # this test's thread counts
    yield registry
    registry.close()
    partner_http.close_clients()
    get_settings.cache_clear()


def test_identity_submissions_to_a_hanging_registry_leave_threads_for_everyone_else(
    db, people, hanging_registry
):
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: a submission waiting on the registry holds it")
    from prakerja.app import create_app

    registry = hanging_registry
    citizens = [make_citizen(db) for _ in range(SUBMISSIONS + 1)]
    bodies = [
        {"nik": who.nik, "kk": who.kk, "birth_date": who.birth_date.isoformat()}
        for who in (next(people) for _ in range(SUBMISSIONS))
    ]
    answers: dict[int, httpx.Response] = {}
    with serve(create_app(get_settings(), db)) as base:

        def submit(i: int) -> None:
            answers[i] = httpx.post(
                f"{base}/api/v1/registration/identity",
                json=bodies[i],
                cookies={COOKIE: citizens[i].token},
                timeout=30,
            )

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(SUBMISSIONS)]
        for t in threads:
            t.start()
        registry.wait_in_flight(2)
        # the other eight waited briefly for a slot and answered without a registry call
        _wait_for(lambda: len(answers) == SUBMISSIONS - 2)
        me = httpx.get(
            f"{base}/api/v1/registration/me",
            cookies={COOKIE: citizens[-1].token},
            timeout=5,  # six route threads, two of them waiting on the registry
        )
        assert me.status_code == 200
        assert registry.in_flight == 2  # the site answered while the registry still hung
        registry.gate.set()
        for t in threads:
            t.join(30)
    assert sorted(a.status_code for a in answers.values()) == [200] * SUBMISSIONS
    assert {a.json()["registry_status"] for a in answers.values()} == {"pending"}
    assert registry.received == 4  # the two calls let through, each retried once


def _wait_for(done, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
