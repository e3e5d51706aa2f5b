"""The identity JSON API: two-step login, cookie session, problem+json errors."""

from sqlalchemy import func, select

from prakerja.identity.model import LoginChallenge, LoginFailure

from .conftest import PASSWORD, code_in, last_message, token_in

EMAIL = "budi@example.id"


def _register(client, db):
    resp = client.post(
        "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD, "language": "en"}
    )
    assert resp.status_code == 201
    assert resp.json()["email"] == EMAIL
    with db.transaction() as s:
        token = token_in(last_message(s, EMAIL))
    assert client.get(f"/verify-email?token={token}").status_code == 200
    return resp.json()["account_id"]


def _challenge(client):
    resp = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert resp.status_code == 202
    return resp.json()["challenge_id"]


def test_register_login_with_code_then_me_and_logout(client, db):
    account_id = _register(client, db)
    challenge = _challenge(client)
    with db.transaction() as s:
        note = last_message(s, EMAIL)
        assert note.subject == "Your Prakerja login code"
        code = code_in(note)
    resp = client.post("/api/v1/auth/login/code", json={"challenge_id": challenge, "code": code})
    assert resp.status_code == 200
    assert resp.json() == {"account_id": account_id}
    assert "pk_session=" in resp.headers["set-cookie"]
    me = client.get("/api/v1/me").json()
    assert me["id"] == account_id
    assert me["kind"] == "citizen"
    assert me["language"] == "en"
    assert client.post("/api/v1/auth/logout").status_code == 204
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_wrong_codes_are_counted_across_requests_and_kill_the_challenge(client, db):
    _register(client, db)
    challenge = _challenge(client)
    with db.transaction() as s:
        right = code_in(last_message(s, EMAIL))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    statuses = [
        client.post(
            "/api/v1/auth/login/code", json={"challenge_id": challenge, "code": wrong}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [422, 422, 422, 422, 401]
    resp = client.post("/api/v1/auth/login/code", json={"challenge_id": challenge, "code": right})
    assert resp.status_code == 401
    assert resp.json()["code"] == "code_expired"
    with db.transaction() as s:
        assert s.scalar(select(LoginChallenge.status)) == "dead"


def test_failed_logins_are_recorded_and_then_limited(client, db):
    _register(client, db)
    for _ in range(10):
        resp = client.post(
            "/api/v1/auth/login", json={"email": EMAIL, "password": "Wrong-pass-123"}
        )
        assert resp.status_code == 401
        assert resp.json()["code"] == "invalid_credentials"
    resp = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert resp.status_code == 429
    assert resp.json()["code"] == "too_many_attempts"
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 10


def test_a_duplicate_registration_is_a_409_problem(client, db):
    _register(client, db)
    resp = client.post("/api/v1/auth/register", json={"email": EMAIL.upper(), "password": PASSWORD})
    assert resp.status_code == 409
    assert resp.json()["code"] == "email_taken"
    assert "sudah ada" in resp.json()["title"]  # Indonesian by default


def test_bad_bodies_are_422_problems(client):
    resp = client.post("/api/v1/auth/register", json={"email": "x@example.id"})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    resp = client.post("/api/v1/auth/register", json={"email": "nope", "password": PASSWORD})
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_email"


def test_the_openapi_schema_documents_problem_responses(client):
    spec = client.get("/api/openapi.json").json()
    responses = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert set(responses) >= {"202", "401", "422", "429"}
    assert "application/problem+json" in responses["429"]["content"]


def test_control_characters_in_login_fields_are_a_plain_refusal(client):
    resp = client.post("/api/v1/auth/login", json={"email": "\u0000", "password": "x"})
    assert resp.status_code == 401
    resp = client.post("/api/v1/auth/login/code", json={"challenge_id": "\u0000", "code": "1"})
    assert resp.status_code == 401
