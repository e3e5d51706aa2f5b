"""A body above `request_max_bytes` is refused with 413 before it is read, and changes nothing."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from prakerja.identity.model import Account
from prakerja.settings import get_settings

REGISTER = "/api/v1/auth/register"


def _accounts(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Account)) or 0


def _too_big() -> bytes:
    padding = "x" * (get_settings().request_max_bytes + 1)
    return json.dumps(
        {"email": "a@example.id", "password": "A-long-password-1", "x": padding}
    ).encode()


def test_a_declared_oversized_body_gets_413_problem_json_and_changes_nothing(db, client):
    before = _accounts(db)
    answer = client.post(REGISTER, content=_too_big(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 413
    assert answer.headers["x-request-id"]
    assert _accounts(db) == before


def test_a_chunked_oversized_body_is_cut_off_as_it_arrives(db, client):
    body = _too_big()
    sent = 0

    def chunks():
        nonlocal sent
        for start in range(0, len(body), 64 * 1024):
            sent += 64 * 1024
            yield body[start : start + 64 * 1024]

    before = _accounts(db)
    answer = client.post(REGISTER, content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert _accounts(db) == before


def test_a_page_gets_a_friendly_413_page_in_indonesian(client):
    answer = client.post(
        "/register", content=b"a=" + b"x" * (get_settings().request_max_bytes + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert answer.status_code == 413
    assert "Permintaan terlalu besar" in answer.text


def test_a_normal_body_passes(client):
    answer = client.post(REGISTER, json={"email": "not-an-email", "password": "x"})
    assert answer.status_code in (400, 422)


def test_the_list_import_route_takes_a_large_file(client):
    answer = client.post(
        "/admin/lists/import", content=b"x" * (get_settings().request_max_bytes + 1),
        headers={"content-type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code != 413  # refused for want of a staff login, not for its size
