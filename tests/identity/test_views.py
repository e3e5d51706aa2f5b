"""Citizen and staff pages over HTTP: forms, CSRF, redirects, access control."""

import re

import pyotp
import pytest
from sqlalchemy import func, select

from prakerja.identity import service
from prakerja.identity.model import Account
from prakerja.kit import audit, jobs
from prakerja.kit.clock import utc_now
from prakerja.kit.notify import Notification

from .conftest import PASSWORD, code_in, last_message, token_in

EMAIL = "siti@example.id"


def csrf(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def post(client, path, data, page=None):
    return client.post(
        path, data={"csrf_token": csrf(client, page or path), **data}, follow_redirects=False
    )


def register_and_verify(client, db, email=EMAIL):
    resp = post(client, "/register", {"email": email, "password": PASSWORD, "language": "id"})
    assert resp.status_code == 200
    assert "Periksa email Anda" in resp.text
    with db.transaction() as s:
        token = token_in(last_message(s, email))
    resp = client.get(f"/verify-email?token={token}")
    assert resp.status_code == 200
    assert "Email terkonfirmasi" in resp.text


def login(client, db, email=EMAIL, next_="", password=PASSWORD):
    resp = post(client, "/login", {"email": email, "password": password, "next": next_})
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login/code")
    with db.transaction() as s:
        code = code_in(last_message(s, email))
    return post(
        client, "/login/code", {"code": code, "next": next_, "action": "verify"}, page="/login/code"
    )


def test_register_confirm_and_log_in_with_the_emailed_code(client, db):
    register_and_verify(client, db)
    resp = login(client, db, next_="/api/v1/me")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/api/v1/me"
    assert "httponly" in resp.headers["set-cookie"].lower()
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == EMAIL
    assert me.json()["email_verified"]


def test_after_login_a_foreign_next_goes_to_the_dashboard(client, db):
    register_and_verify(client, db)
    resp = login(client, db, next_="//evil.example/x")
    assert resp.headers["location"] == "/dashboard"


def test_a_wrong_password_re_renders_the_form_in_indonesian(client, db):
    register_and_verify(client, db)
    resp = post(client, "/login", {"email": EMAIL, "password": "Not-the-password-1"})
    assert resp.status_code == 401
    assert "Email atau kata sandi salah" in resp.text
    assert 'value="siti@example.id"' in resp.text


def test_a_wrong_code_re_renders_and_resend_sends_a_new_one(client, db):
    register_and_verify(client, db)
    post(client, "/login", {"email": EMAIL, "password": PASSWORD})
    resp = post(client, "/login/code", {"code": "abc", "action": "verify"}, page="/login/code")
    assert resp.status_code == 422
    assert "Kode salah" in resp.text
    resp = post(client, "/login/code", {"action": "resend"}, page="/login/code")
    assert resp.status_code == 200
    assert "Kode baru telah dikirim" in resp.text
    with db.transaction() as s:
        sent = s.scalar(
            select(func.count()).select_from(Notification).where(Notification.recipient == EMAIL)
        )
        assert sent == 3  # verification link, first code, resent code


def test_duplicate_email_shows_a_clear_message(client, db):
    register_and_verify(client, db)
    resp = post(client, "/register", {"email": EMAIL, "password": PASSWORD, "language": "id"})
    assert resp.status_code == 409
    assert "sudah ada" in resp.text


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(client, db):
    client.get("/register")
    resp = client.post("/register", data={"email": EMAIL, "password": PASSWORD, "language": "id"})
    assert resp.status_code == 403
    resp = client.post(
        "/register", data={"email": EMAIL, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert resp.status_code == 403
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 0


def test_logout_revokes_the_session(client, db):
    register_and_verify(client, db)
    login(client, db)
    assert client.get("/api/v1/me").status_code == 200
    resp = post(client, "/logout", {}, page="/register")
    assert resp.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_password_reset_pages(client, db):
    register_and_verify(client, db)
    resp = post(client, "/password/forgot", {"email": EMAIL})
    assert resp.status_code == 200
    with db.transaction() as s:
        token = token_in(last_message(s, EMAIL))
    resp = post(
        client,
        "/password/reset",
        {"token": token, "password": "Teh-manis-dingin-9"},
        page=f"/password/reset?token={token}",
    )
    assert resp.status_code == 200
    assert "Kata sandi diubah" in resp.text
    assert login(client, db, password="Teh-manis-dingin-9").status_code == 303


def _staff(db, roles=("admin",)):
    with db.transaction() as s:
        _, uri = service.create_staff(
            s,
            email="ops@example.id",
            password="Rahasia-kantor-77",
            roles=list(roles),
            now=utc_now(),
        )
    return pyotp.parse_uri(uri).secret


def _staff_login(client, secret):
    return post(
        client,
        "/staff/login",
        {
            "email": "ops@example.id",
            "password": "Rahasia-kantor-77",
            "code": pyotp.TOTP(secret).now(),
        },
    )


def test_staff_log_in_with_totp_and_retry_a_dead_job(client, db):
    secret = _staff(db, ("operator",))
    resp = _staff_login(client, secret)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/staff"
    assert "/admin/jobs" in client.get("/staff").text
    with db.transaction() as s:
        job_id = jobs.enqueue(s, "test.nothing", {})
        job = s.get(jobs.Job, job_id)
        job.status, job.last_error = jobs.DEAD, "RuntimeError: partner down"
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    assert "RuntimeError: partner down" in page.text
    resp = post(client, f"/admin/jobs/{job_id}/retry", {}, page="/admin/jobs")
    assert resp.status_code == 303
    with db.transaction() as s:
        assert s.get(jobs.Job, job_id).status == jobs.QUEUED
        entry = s.scalar(select(audit.AuditEntry).where(audit.AuditEntry.action == "jobs.retry"))
        assert entry.target == f"job:{job_id}"
        assert audit.verify(s).ok
    page = client.get("/admin/jobs")  # queued again, and no code handles its kind: listed
    awaiting = page.text.split('id="awaiting"', 1)[1].split("</section>", 1)[0]
    assert "test.nothing" in awaiting
    assert "Menunggu layanan" in awaiting


def test_staff_without_the_role_cannot_see_jobs(client, db):
    _staff_login(client, _staff(db, ("finance",)))
    assert client.get("/staff").status_code == 200
    assert client.get("/admin/jobs").status_code == 403


def test_a_wrong_totp_code_is_refused_on_the_staff_form(client, db):
    _staff(db)
    resp = post(
        client,
        "/staff/login",
        {"email": "ops@example.id", "password": "Rahasia-kantor-77", "code": "12"},
    )
    assert resp.status_code == 401
    assert "Email atau kata sandi salah" in resp.text


@pytest.mark.parametrize("path", ["/staff", "/admin/jobs"])
def test_a_citizen_cannot_open_staff_pages(client, db, path):
    register_and_verify(client, db)
    login(client, db)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/staff", "/admin/jobs"])
def test_anonymous_visitors_are_sent_to_the_staff_login(client, path):
    resp = client.get(path, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == f"/staff/login?next={path}"
