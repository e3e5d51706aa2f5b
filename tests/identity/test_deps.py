"""The request dependencies other contexts use: who is calling, and may they."""

import datetime as dt
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from prakerja.identity import rules, service
from prakerja.identity.deps import CurrentCitizen, OptionalAccount, require_staff
from prakerja.identity.model import Account, WebSession
from prakerja.kit import routing, web
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import Forbidden

from .conftest import make_citizen


@pytest.fixture
def probe(db):
    app = FastAPI()
    app.state.db = db
    web.install(app)

    @app.get("/api/who")
    def who(account: OptionalAccount) -> dict:
        return {"id": account.id if account else None}

    @app.get("/api/citizen")
    def citizen(account: CurrentCitizen) -> dict:
        return {"id": account.id}

    @app.post("/api/language")
    def language(account: CurrentCitizen, session: routing.DbSession) -> dict:
        account.language = "en"  # the caller's row, changed by the route body
        return {"id": account.id}

    @app.post("/api/language-then-fail")
    def language_then_fail(account: CurrentCitizen, session: routing.DbSession) -> dict:
        account.language = "en"
        raise Forbidden()

    @app.get("/api/finance")
    def finance(account: Annotated[object, Depends(require_staff("finance"))]) -> dict:
        return {"ok": True}

    return TestClient(app)


def _cookie(db, *, verified=True, staff_roles=None):
    with db.transaction() as s:
        if staff_roles:
            account, _ = service.create_staff(
                s,
                email="ops@example.id",
                password="Rahasia-kantor-77",
                roles=staff_roles,
                now=utc_now(),
            )
        else:
            account = make_citizen(s, verified=verified, now=utc_now())
        return account.id, service.open_session(
            s, account_id=account.id, ip="", now=utc_now()
        ).token


def test_anonymous_callers_are_none_or_401(probe):
    assert probe.get("/api/who").json() == {"id": None}
    assert probe.get("/api/citizen").status_code == 401
    assert probe.get("/api/finance").status_code == 401


def test_a_verified_citizen_passes_but_not_as_staff(probe, db):
    account_id, token = _cookie(db)
    probe.cookies.set("pk_session", token)
    assert probe.get("/api/citizen").json() == {"id": account_id}
    assert probe.get("/api/finance").status_code == 403


def test_an_unverified_citizen_is_refused(probe, db):
    _, token = _cookie(db, verified=False)
    probe.cookies.set("pk_session", token)
    resp = probe.get("/api/citizen")
    assert resp.status_code == 403
    assert resp.json()["code"] == "email_not_verified"


def test_staff_roles_are_checked_and_admin_holds_all(probe, db):
    staff_id, token = _cookie(db, staff_roles=["agent"])
    probe.cookies.set("pk_session", token)
    assert probe.get("/api/finance").status_code == 403
    assert probe.get("/api/citizen").status_code == 403
    with db.transaction() as s:
        s.get(Account, staff_id).roles = "admin"
    assert probe.get("/api/finance").json() == {"ok": True}


def test_the_caller_looked_up_apart_is_the_route_bodys_row(probe, db):
    """The lookup runs on the event loop (Database.loop_reads); the account it found belongs
    to the request's transaction: changes commit with it, or roll back with it."""
    account_id, token = _cookie(db)
    probe.cookies.set("pk_session", token)
    assert probe.post("/api/language-then-fail").status_code == 403
    with db.transaction() as s:
        assert s.get(Account, account_id).language == "id"
    assert probe.post("/api/language").json() == {"id": account_id}
    with db.transaction() as s:
        assert s.get(Account, account_id).language == "en"


def test_an_idle_session_is_touched_and_then_expires(probe, db):
    account_id, token = _cookie(db)
    stale = utc_now() - rules.SESSION_TOUCH - dt.timedelta(seconds=5)
    with db.transaction() as s:
        s.execute(update(WebSession).values(last_seen_at=stale))
    probe.cookies.set("pk_session", token)
    assert probe.get("/api/who").json() == {"id": account_id}
    with db.transaction() as s:
        touched = s.scalar(select(WebSession.last_seen_at))
    assert touched > stale + rules.SESSION_TOUCH
    with db.transaction() as s:
        s.execute(update(WebSession).values(last_seen_at=utc_now() - rules.SESSION_IDLE * 2))
    assert probe.get("/api/who").json() == {"id": None}
