"""Statement and test pages and the test API, over HTTP, on both backends."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.clock import utc_now
from prakerja.kit.db import new_id
from prakerja.registration import assessment
from prakerja.registration import service as registration
from prakerja.registration.model import Person
from prakerja.registration.model_assessment import AbilityTestAttempt
from prakerja.registration.service_eligibility import current_policy

KEY = assessment.bank_index(assessment.load_bank())
STATEMENT = {
    "work_status": "not_working",
    "laid_off_recently": "no",
    "in_formal_education": "no",
    "public_position": "none",
    "commit_to_finish": "yes",
}


def citizen(db, email: str, *, up_to_phone: bool = True) -> tuple[str, int]:
    """A logged-in citizen (session token) whose steps up to the phone are done."""
    now = utc_now()
    with db.transaction() as s:
        account = Account(
            public_id=new_id(),
            email=email,
            password_hash="x",
            kind="citizen",
            status="active",
            email_verified_at=now,
            created_at=now,
        )
        s.add(account)
        s.flush()
        person = registration.person_for_account(s, account.id, now=now)
        if up_to_phone:
            person.registry_status, person.face_status = "matched", "pass"
            for step in ("identity", "profile", "ktp", "face", "phone"):
                setattr(person, f"{step}_done_at", now)
        token = open_session(s, account_id=account.id, ip="127.0.0.1", now=now).token
        return token, person.id


def csrf(client, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert found, url
    return found.group(1)


@pytest.fixture
def siti(db, client):
    token, pid = citizen(db, "siti@example.id")
    client.cookies.set(COOKIE, token)
    return pid


def _fill_statement(client) -> None:
    token = csrf(client, "/journey/statement")
    resp = client.post(
        "/journey/statement", data={**STATEMENT, "csrf_token": token}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert resp.headers["location"] == "/journey/test"


def _start(client) -> int:
    resp = client.post(
        "/journey/test/start",
        data={"csrf_token": csrf(client, "/journey/test")},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    return int(resp.headers["location"].rsplit("/", 1)[1])


def _question_ids(db, attempt_id: int) -> list[str]:
    with db.transaction() as s:
        return list(s.get(AbilityTestAttempt, attempt_id).question_ids)


def test_statement_page_asks_in_indonesian_and_refuses_a_missing_answer(client, siti):
    page = client.get("/journey/statement")
    assert page.status_code == 200
    assert "Apakah Anda bekerja saat ini?" in page.text
    token = csrf(client, "/journey/statement")
    resp = client.post(
        "/journey/statement", data={**STATEMENT, "commit_to_finish": "", "csrf_token": token}
    )
    assert resp.status_code == 422
    assert 'id="commit_to_finish-error"' in resp.text


def test_statement_without_the_form_token_is_refused(client, siti, db):
    resp = client.post("/journey/statement", data=STATEMENT)
    assert resp.status_code == 403
    with db.transaction() as s:
        assert s.get(Person, siti).statement_done_at is None


def test_pages_before_the_earlier_steps_redirect_to_the_dashboard(db, client):
    token, _ = citizen(db, "early@example.id", up_to_phone=False)
    client.cookies.set(COOKIE, token)
    for url in ("/journey/statement", "/journey/test"):
        resp = client.get(url, follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"] == "/dashboard"


def test_the_whole_test_in_the_browser_pass_path(db, client, siti):
    _fill_statement(client)
    intro = client.get("/journey/test")
    with db.transaction() as s:
        _, rules = current_policy(s)
    assert f"{rules.test_minutes} menit" in intro.text
    attempt_id = _start(client)
    page = client.get(f"/journey/test/{attempt_id}")
    qids = _question_ids(db, attempt_id)
    assert page.text.count('type="radio"') == 4 * len(qids) == 4 * rules.test_questions
    assert "WIB" in page.text
    assert 'id="deadline"' in page.text
    form = {f"q_{q}": str(KEY[q].answer) for q in qids}
    result = client.post(
        f"/journey/test/{attempt_id}",
        data={**form, "csrf_token": csrf(client, f"/journey/test/{attempt_id}")},
    )
    assert result.status_code == 200
    assert "Anda lulus." in result.text
    assert f"{len(qids)} / {len(qids)} (100%)" in result.text
    with db.transaction() as s:
        assert s.get(Person, siti).test_done_at is not None


def test_a_failed_test_shows_the_retry_date(db, client, siti):
    _fill_statement(client)
    attempt_id = _start(client)
    token = csrf(client, f"/journey/test/{attempt_id}")
    result = client.post(f"/journey/test/{attempt_id}", data={"csrf_token": token})
    assert "Anda belum lulus kali ini." in result.text
    assert 'id="retry"' in result.text
    intro = client.get("/journey/test")
    assert "Anda dapat memulai percobaan baru mulai" in intro.text
    dashboard = client.get("/dashboard").text  # says when, and offers no button before it
    assert "Anda belum lulus tes kemampuan dasar. Anda dapat mengulanginya mulai " in dashboard
    assert 'id="next-step"' not in dashboard
    again = client.post(
        "/journey/test/start",
        data={"csrf_token": csrf(client, "/journey/test")},
        follow_redirects=False,
    )
    assert again.status_code == 409


def test_someone_elses_attempt_page_is_not_found(db, client, siti):
    _fill_statement(client)
    attempt_id = _start(client)
    token, _ = citizen(db, "budi@example.id")
    client.cookies.set(COOKIE, token)
    assert client.get(f"/journey/test/{attempt_id}").status_code == 404


def test_api_start_read_submit_and_repeat(db, client, siti):
    _fill_statement(client)
    started = client.post("/api/v1/registration/test/start")
    assert started.status_code == 201
    body = started.json()
    assert client.post("/api/v1/registration/test/start").status_code == 200
    read = client.get(f"/api/v1/registration/test/{body['id']}").json()
    assert read["status"] == "open"
    assert "answer" not in read["questions"][0]
    answers = {q["id"]: KEY[q["id"]].answer for q in read["questions"]}
    done = client.post(f"/api/v1/registration/test/{body['id']}", json={"answers": answers})
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["score_percent"]) == ("passed", 100)
    repeat = client.post(f"/api/v1/registration/test/{body['id']}", json={"answers": {}})
    assert repeat.json()["score"] == done.json()["score"]


def test_api_refuses_bad_answers_with_problem_json(db, client, siti):
    _fill_statement(client)
    attempt_id = client.post("/api/v1/registration/test/start").json()["id"]
    qid = _question_ids(db, attempt_id)[0]
    resp = client.post(f"/api/v1/registration/test/{attempt_id}", json={"answers": {qid: 7}})
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    with db.transaction() as s:
        assert s.get(AbilityTestAttempt, attempt_id).is_open


def test_api_retry_too_early_is_a_conflict_with_the_date(db, client, siti):
    _fill_statement(client)
    attempt_id = client.post("/api/v1/registration/test/start").json()["id"]
    failed = client.post(f"/api/v1/registration/test/{attempt_id}", json={"answers": {}}).json()
    assert failed["status"] == "failed"
    assert failed["retry_allowed_at"]
    resp = client.post("/api/v1/registration/test/start")
    assert resp.status_code == 409
    assert resp.json()["code"] == "test_retry_not_yet_allowed"
    assert resp.json()["retry_allowed_at"] == failed["retry_allowed_at"].replace("Z", "+00:00")


def test_api_hides_other_citizens_attempts(db, client, siti):
    _fill_statement(client)
    attempt_id = client.post("/api/v1/registration/test/start").json()["id"]
    token, _ = citizen(db, "budi@example.id")
    client.cookies.set(COOKIE, token)
    for resp in (
        client.get(f"/api/v1/registration/test/{attempt_id}"),
        client.post(f"/api/v1/registration/test/{attempt_id}", json={"answers": {}}),
    ):
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith("application/problem+json")
    with db.transaction() as s:
        attempt = s.scalar(select(AbilityTestAttempt).where(AbilityTestAttempt.id == attempt_id))
        assert attempt.is_open


def test_api_needs_a_login(client):
    assert client.post("/api/v1/registration/test/start").status_code == 401


def test_answers_after_the_deadline_are_not_counted_in_the_browser(db, client, siti):
    _fill_statement(client)
    attempt_id = _start(client)
    token = csrf(client, f"/journey/test/{attempt_id}")
    qids = _question_ids(db, attempt_id)
    with db.transaction() as s:  # the citizen started 26 minutes ago
        attempt = s.get(AbilityTestAttempt, attempt_id)
        attempt.started_at -= dt.timedelta(minutes=26)
        attempt.deadline_at = utc_now() - dt.timedelta(seconds=31)
    form = {f"q_{q}": str(KEY[q].answer) for q in qids}
    result = client.post(f"/journey/test/{attempt_id}", data={**form, "csrf_token": token})
    assert "Waktu habis" in result.text
    with db.transaction() as s:
        assert s.get(AbilityTestAttempt, attempt_id).closed_reason == "time_up"
        assert s.get(Person, siti).test_done_at is None


def test_questions_are_shown_in_english_on_request(db, client, siti):
    _fill_statement(client)
    attempt_id = _start(client)
    first = KEY[_question_ids(db, attempt_id)[0]]
    page = client.get(f"/journey/test/{attempt_id}?lang=en")
    assert str(escape(first.prompt_en)) in page.text
    assert str(escape(first.options_en[0])) in page.text
