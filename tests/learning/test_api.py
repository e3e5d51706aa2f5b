"""Partner and citizen learning APIs over HTTP, with the face-check simulator: idempotent
partner calls, 401 on bad signatures with nothing changed, 409 out of order, verification."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from prakerja.kit.db import Database
from prakerja.learning.model import Attendance, Certificate, Completion, RedeemCode
from prakerja.sim.face import sample_image
from tests.burst import at_once
from tests.learning.conftest import Learner, Setup, make_learner, make_setup, signed

API = "/api/partner/v1"


@pytest.fixture
def world(db: Database, face_sim: Any) -> tuple[Setup, Learner, Learner]:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20)
    with db.transaction() as s:
        setup = make_setup(s, starts=[start])
        return setup, make_learner(s, setup), make_learner(s, setup, name="Siti Aminah")


def _state(db: Database) -> tuple[int, ...]:
    with db.transaction() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m).where(*w)) or 0
            for m, w in (
                (RedeemCode, (RedeemCode.committed_at.is_not(None),)),
                (Attendance, ()),
                (Completion, ()),
                (Certificate, ()),
            )
        )


def _my_code(client: TestClient, learner: Learner) -> tuple[str, int]:
    learner.login(client)
    body = client.get("/api/v1/learning/enrolments").json()
    session = body[0]["sessions"][0]
    return session["redeem_code"], session["session_id"]


def _face(client: TestClient, learner: Learner, sid: int, outcome: str = "pass") -> Any:
    learner.login(client)
    page = client.get(f"/learning/{learner.order_public_id}/sessions/{sid}/face")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post(
        f"/learning/{learner.order_public_id}/sessions/{sid}/face",
        data={"csrf_token": token, "blink": "yes"},
        files={"photo": ("me.png", sample_image(outcome), "image/png")},
    )


def _attend(client: TestClient, setup: Setup, learner: Learner) -> None:
    code, sid = _my_code(client, learner)
    assert (
        signed(
            client, setup.keys, "POST", f"{API}/sessions/{sid}/redeem-codes/commit", {"code": code}
        ).status_code
        == 200
    )
    assert _face(client, learner, sid).status_code == 200
    resp = signed(
        client,
        setup.keys,
        "POST",
        f"{API}/attendance",
        {"order_id": learner.order_public_id, "session_id": sid, "method": "face"},
    )
    assert resp.status_code == 200, resp.text


def test_redeem_check_then_commit_is_idempotent(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner]
) -> None:
    setup, learner, _ = world
    code, sid = _my_code(client, learner)
    check = signed(
        client, setup.keys, "POST", f"{API}/sessions/{sid}/redeem-codes/check", {"code": code}
    )
    assert check.status_code == 200
    assert check.json()["status"] == "open"
    assert _state(db) == (0, 0, 0, 0)
    first = signed(
        client, setup.keys, "POST", f"{API}/sessions/{sid}/redeem-codes/commit", {"code": code}
    )
    second = signed(
        client, setup.keys, "POST", f"{API}/sessions/{sid}/redeem-codes/commit", {"code": code}
    )
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["status"] == "committed"
    assert _state(db) == (1, 0, 0, 0)


@pytest.mark.parametrize("fault", ["wrong_secret", "stale", "replay", "unsigned"])
def test_a_bad_signature_is_401_and_changes_nothing(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner], fault: str
) -> None:
    setup, learner, _ = world
    code, sid = _my_code(client, learner)
    path = f"{API}/sessions/{sid}/redeem-codes/commit"
    if fault == "wrong_secret":
        resp = signed(client, setup.keys, "POST", path, {"code": code}, secret="nope" * 8)
    elif fault == "stale":
        resp = signed(
            client, setup.keys, "POST", path, {"code": code}, timestamp=int(time.time()) - 301
        )
    elif fault == "unsigned":
        resp = client.post(path, json={"code": code})
    else:
        body = json.dumps({"code": code}).encode()
        from prakerja.marketplace import signing

        headers = signing.sign(setup.keys.client_id, setup.keys.secret, "POST", path, body)
        headers["Content-Type"] = "application/json"
        assert client.post(path, content=body, headers=headers).status_code == 200
        before = _state(db)
        resp = client.post(path, content=body, headers=headers)
        assert resp.status_code == 401
        assert _state(db) == before
        return
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert _state(db) == (0, 0, 0, 0)


def test_out_of_order_partner_calls_get_409(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner]
) -> None:
    setup, learner, _ = world
    code, sid = _my_code(client, learner)
    order = learner.order_public_id
    calls = [
        (
            "/attendance",
            {"order_id": order, "session_id": sid, "method": "face"},
            "session_not_redeemed",
        ),
        (
            "/completions",
            {"order_id": order, "pre_score": 30, "post_score": 80},
            "sessions_not_attended",
        ),
        ("/certificates", {"order_id": order, "certificate_number": "LP-1"}, "not_completed"),
    ]
    for path, body, code_name in calls:
        resp = signed(client, setup.keys, "POST", API + path, body)
        assert (resp.status_code, resp.json()["code"]) == (409, code_name)
    signed(client, setup.keys, "POST", f"{API}/sessions/{sid}/redeem-codes/commit", {"code": code})
    resp = signed(client, setup.keys, "POST", f"{API}/attendance", calls[0][1])
    assert (resp.status_code, resp.json()["code"]) == (409, "face_check_required")
    assert _state(db) == (1, 0, 0, 0)


def test_the_full_partner_flow_issues_a_verified_certificate(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner]
) -> None:
    setup, learner, other = world
    _attend(client, setup, learner)
    body = {"order_id": learner.order_public_id, "pre_score": 35, "post_score": 80}
    first = signed(client, setup.keys, "POST", f"{API}/completions", body)
    again = signed(client, setup.provider_keys, "POST", f"{API}/completions", body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    differs = signed(client, setup.keys, "POST", f"{API}/completions", body | {"post_score": 81})
    assert differs.status_code == 409
    cert = {
        "order_id": learner.order_public_id,
        "certificate_number": "LP-2026-0001",
        "certificate_url": "https://lp.example/c/1",
    }
    assert (
        signed(client, setup.keys, "POST", f"{API}/certificates", cert).json()
        == signed(client, setup.keys, "POST", f"{API}/certificates", cert).json()
    )
    assert (
        signed(
            client, setup.keys, "POST", f"{API}/certificates", cert | {"certificate_number": "X"}
        ).status_code
        == 409
    )
    assert _state(db) == (1, 1, 1, 1)
    public_id = first.json()["certificate"]["certificate_id"]
    verdict = client.get(f"/api/v1/certificates/{public_id}/verify").json()
    assert verdict["valid"]
    assert verdict["recipient"] == "B*** S******"
    page = client.get(f"/certificates/{public_id}")
    assert "B*** S******" in page.text
    assert "Budi Santoso" not in page.text
    pdf = learner.login(client).get(f"/learning/certificates/{public_id}.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    badge = client.get(f"/learning/certificates/{public_id}/badge.json").content
    assert client.post("/api/v1/certificates/verify-badge", content=badge).json()["valid"]
    tampered = badge.replace(b"Pemasaran", b"Pemasaram", 1)
    assert not client.post("/api/v1/certificates/verify-badge", content=tampered).json()["valid"]
    other.login(client)
    assert client.get(f"/learning/certificates/{public_id}.pdf").status_code == 404
    assert client.get(f"/learning/certificates/{public_id}/badge.json").status_code == 404
    mine = client.get("/api/v1/learning/enrolments").json()
    assert [e["order_id"] for e in mine] == [other.order_public_id]
    assert not mine[0]["certificate"]
    assert (
        client.post(
            "/api/v1/learning/reviews",
            json={"order_id": learner.order_public_id, "stars": 5, "text": "Orang lain menilai"},
        ).status_code
        == 404
    )


def test_a_failed_face_check_is_shown_and_counted(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner]
) -> None:
    _setup, learner, _ = world
    _, sid = _my_code(client, learner)
    page = _face(client, learner, sid, "face_not_matching")
    assert page.status_code == 200
    assert 'id="face-failed"' in page.text
    with db.transaction() as s:
        row = s.scalars(select(Attendance)).one()
        assert (row.face_status, row.face_reason, row.face_attempts) == (
            "fail",
            "face_not_matching",
            1,
        )


def test_review_via_api_after_completion(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner]
) -> None:
    setup, learner, _ = world
    review = {"order_id": learner.order_public_id, "stars": 4, "text": "Materinya praktis"}
    learner.login(client)
    assert client.post("/api/v1/learning/reviews", json=review).status_code == 409
    _attend(client, setup, learner)
    signed(
        client,
        setup.keys,
        "POST",
        f"{API}/completions",
        {"order_id": learner.order_public_id, "pre_score": 35, "post_score": 80},
    )
    learner.login(client)
    assert client.post("/api/v1/learning/reviews", json=review | {"stars": 6}).status_code == 422
    assert client.post("/api/v1/learning/reviews", json=review).status_code == 201
    assert client.get("/api/v1/learning/enrolments").json()[0]["next_step"] == "done"


def test_unknown_certificates_are_invalid_and_keys_are_public(client: TestClient) -> None:
    assert client.get("/api/v1/certificates/nope/verify").json()["valid"] is False
    assert client.get("/certificates/nope").status_code == 404
    keys = client.get("/.well-known/prakerja-keys.json").json()["keys"]
    assert keys
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in keys)


def test_face_checks_sent_at_once_count_at_most_five(
    client: TestClient, db: Database, world: tuple[Setup, Learner, Learner]
) -> None:
    """Each attempt is taken by one conditional UPDATE before the vendor sees the photo."""
    from prakerja.learning import service_attendance

    _setup, learner, _ = world
    _, sid = _my_code(client, learner)

    def check() -> None:
        with db.transaction() as s:
            service_attendance.face_check(
                s,
                account_id=learner.account_id,
                order_public_id=learner.order_public_id,
                session_id=sid,
                image=sample_image("face_not_matching"),
                blink=True,
                now=dt.datetime.now(dt.UTC),
            )

    outcomes = at_once([check] * 12)
    assert sorted(outcomes) == ["face_attempts_exhausted"] * 7 + ["ok"] * 5, outcomes
    with db.transaction() as s:
        assert s.scalars(select(Attendance)).one().face_attempts == 5
