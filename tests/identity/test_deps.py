"""The request dependencies other contexts use: who is calling, and may they."""

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from prakerja.identity import service
from prakerja.identity.deps import CurrentCitizen, OptionalAccount, require_staff
from prakerja.identity.model import Account
from prakerja.kit import web
from prakerja.kit.clock import utc_now

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
