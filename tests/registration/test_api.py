"""The registration API: problem+json errors, and each citizen sees only their own record."""

import pytest

from prakerja.identity import vault
from tests.registration.conftest import make_citizen, person_row, walk

ME = "/api/v1/registration/me"


def identity_body(who, **changes):
    body = {"nik": who.nik, "kk": who.kk, "birth_date": who.birth_date.isoformat()}
    body.update(changes)
    return body


def test_me_needs_a_login(client):
    resp = client.get(ME)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_an_unverified_email_cannot_register(client, db, people):
    make_citizen(db, verified=False).login(client)
    resp = client.post("/api/v1/registration/identity", json=identity_body(next(people)))
    assert resp.status_code == 403


def test_identity_then_me_shows_status_masked_nik_and_region(client, db, people):
    who, citizen = next(people), make_citizen(db)
    citizen.login(client)
    assert client.get(ME).json()["next_step"] == "identity"
    resp = client.post("/api/v1/registration/identity", json=identity_body(who))
    assert resp.status_code == 200, resp.text
    me = client.get(ME, params={"lang": "en"}).json()
    assert me["next_step"] == "profile"
    assert me["completed_steps"] == ["identity"]
    assert me["nik_masked"] == who.nik[:4] + "********" + who.nik[-4:]
    assert me["region"]["regency_code"] == who.regency_code
    assert me["status"] == "Your NIK is verified. Next, complete your profile."
    assert who.nik not in resp.text


def test_a_bad_identity_is_a_problem_with_field_errors_and_changes_nothing(client, db, people):
    who, citizen = next(people), make_citizen(db)
    citizen.login(client)
    resp = client.post(
        "/api/v1/registration/identity", json=identity_body(who, birth_date="1950-01-01")
    )
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["code"] == "invalid"
    assert problem["field_errors"][0]["code"] == "birth_date_mismatch"
    assert person_row(db, citizen.account_id) == {}


def test_a_duplicate_nik_is_a_409(client, db, people):
    who = next(people)
    walk(db, make_citizen(db), who, "profile")
    make_citizen(db).login(client)
    resp = client.post("/api/v1/registration/identity", json=identity_body(who))
    assert resp.status_code == 409
    assert resp.json()["code"] == "nik_taken"


def test_profile_out_of_order_is_a_409(client, db, people):
    make_citizen(db).login(client)
    resp = client.post(
        "/api/v1/registration/profile",
        json={
            "full_name": "Budi",
            "mother_name": "Siti",
            "address": "Jl. Mawar 1",
            "domicile_regency_code": "32.76",
            "village_type": "urban",
            "education": "sma",
            "marital_status": "single",
            "dependants": 0,
            "employment_status": "unemployed",
            "occupation": "none",
        },
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "step_out_of_order"


def test_citizen_b_cannot_read_or_change_citizen_a(client, db, people):
    who_a, who_b = next(people), next(people)
    a, b = make_citizen(db), make_citizen(db)
    walk(db, a, who_a, "ktp")
    before_a = person_row(db, a.account_id)
    b.login(client)
    me = client.get(ME).json()
    assert me["nik_masked"] is None
    assert me["next_step"] == "identity"
    assert who_a.nik[-4:] not in client.get("/dashboard").text
    # B tries to take A's NIK, then to write a profile and upload onto A's journey.
    assert (
        client.post("/api/v1/registration/identity", json=identity_body(who_a)).status_code == 409
    )
    assert (
        client.post(
            "/api/v1/registration/profile",
            json={
                "full_name": who_a.name,
                "mother_name": "X",
                "address": "Y",
                "domicile_regency_code": who_a.regency_code,
                "village_type": "urban",
                "education": "sma",
                "marital_status": "single",
                "dependants": 0,
                "employment_status": "unemployed",
                "occupation": "none",
            },
        ).status_code
        == 409
    )
    client.post("/api/v1/registration/identity", json=identity_body(who_b))
    assert client.get(ME).json()["nik_masked"].endswith(who_b.nik[-4:])
    assert person_row(db, a.account_id) == before_a
    assert vault.decrypt_text(person_row(db, b.account_id)["nik_enc"]) == who_b.nik
    # A still sees only A.
    a.login(client)
    assert client.get(ME).json()["nik_masked"].endswith(who_a.nik[-4:])


@pytest.mark.parametrize(
    "body",
    [
        {"nik": "x" * 16, "kk": "1" * 16, "birth_date": "2000-01-01"},
        {"nik": "3276014501900001", "kk": "1" * 16, "birth_date": "2000-13-01"},
        {"nik": "3276014501900001"},
        {
            "nik": "\u0663" * 16,
            "kk": "\u0663" * 16,
            "birth_date": "2000-01-01",
        },  # Arabic-Indic digits
    ],
)
def test_malformed_bodies_are_problems_not_crashes(client, db, body):
    make_citizen(db).login(client)
    resp = client.post("/api/v1/registration/identity", json=body)
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_phone_confirm_with_no_code_pending_is_refused(client, db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "phone")
    citizen.login(client)
    resp = client.post("/api/v1/registration/phone/confirm", json={"code": "123456"})
    assert resp.status_code == 422
    assert person_row(db, citizen.account_id)["phone_done_at"] is None


def test_identity_checks_past_the_daily_cap_are_a_429_and_change_nothing(client, db, people):
    who, citizen = next(people), make_citizen(db)
    other = next(p for p in people if p.kk != who.kk)
    citizen.login(client)
    for _ in range(5):
        resp = client.post("/api/v1/registration/identity", json=identity_body(who, kk=other.kk))
        assert resp.json()["registry_status"] == "mismatch"
    before = person_row(db, citizen.account_id)
    resp = client.post("/api/v1/registration/identity", json=identity_body(who))
    assert resp.status_code == 429
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["code"] == "identity_attempts_exhausted"
    assert person_row(db, citizen.account_id) == before
