"""Sync route bodies (kit.routing._on_route_threads): the transaction ends on the body's thread,
committed when it returns, rolled back when it raises, so the event loop never has to hand a
finished request's connection back."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from prakerja.kit import jobs, routing, web
from prakerja.kit.errors import Invalid


@pytest.fixture
def probe(db, monkeypatch):
    endings: list[bool] = []
    real = routing._ending

    async def spy(session, *, commit):
        endings.append(commit)
        await real(session, commit=commit)

    monkeypatch.setattr(routing, "_ending", spy)
    router = routing.new_router()

    @router.post("/api/probe/{outcome}")
    def probe_route(outcome: str, session: routing.DbSession) -> dict:
        jobs.enqueue(session, "probe", {"outcome": outcome})
        if outcome == "fail":
            raise Invalid("refused after a write")
        if outcome == "crash":
            raise RuntimeError("a bug after a write")
        return {"ok": True}

    app = FastAPI()
    app.state.db = db
    web.install(app)
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, endings


def _jobs(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(jobs.Job).where(jobs.Job.kind == "probe"))


@pytest.mark.parametrize(("outcome", "status"), [("fail", 422), ("crash", 500)])
def test_a_failing_body_is_rolled_back_on_its_own_thread(probe, db, outcome, status):
    client, endings = probe
    assert client.post(f"/api/probe/{outcome}").status_code == status
    assert _jobs(db) == 0
    assert endings == []  # nothing was left for the event loop to end


def test_a_body_that_returns_is_committed_on_its_own_thread(probe, db):
    client, endings = probe
    assert client.post("/api/probe/ok").json() == {"ok": True}
    assert _jobs(db) == 1
    assert endings == []
