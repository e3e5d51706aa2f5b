"""The citizen sees their own card (page and API) and nobody else's."""

import uuid

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.clock import utc_now
from prakerja.registration.model import Person
from prakerja.wallet import service_card
from tests.wallet.card_factories import payload


def _citizen(db, with_card):
    """A logged-in citizen (cookie token) with a person row and, if asked, a card."""
    now = utc_now()
    with db.transaction() as s:
        account = Account(
            public_id=uuid.uuid4().hex,
            email=f"{uuid.uuid4().hex[:8]}@ex.id",
            password_hash="x",
            kind="citizen",
            roles="",
            status="active",
            language="id",
            failed_logins=0,
            created_at=now,
            email_verified_at=now,
        )
        s.add(account)
        s.flush()
        person = Person(
            account_id=account.id, nik_bidx=uuid.uuid4().hex, created_at=now, updated_at=now
        )
        s.add(person)
        s.flush()
        number = None
        if with_card:
            number = service_card.issue_card(s, now=now, **payload(person)).number
        token = open_session(s, account_id=account.id, ip="127.0.0.1", now=now).token
    return token, number


def test_the_card_page_shows_number_balance_deadline_and_next_step(db, client):
    token, number = _citizen(db, with_card=True)
    client.cookies.set(COOKIE, token)
    page = client.get("/card")
    assert page.status_code == 200
    assert " ".join(number[i : i + 4] for i in range(0, 16, 4)) in page.text
    assert "Rp3.500.000" in page.text
    assert "Beli pelatihan pertama" in page.text
    assert "<script" not in page.text


def test_the_api_returns_only_the_callers_card(db, client):
    mine, number = _citizen(db, with_card=True)
    other, _ = _citizen(db, with_card=False)
    client.cookies.set(COOKIE, mine)
    body = client.get("/api/v1/card").json()
    assert body["number"] == number
    assert body["balance"] == 3_500_000
    assert body["next_step"] == "buy_first_course"
    client.cookies.set(COOKIE, other)
    missing = client.get("/api/v1/card")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "card_not_found"
    page = client.get("/card")
    assert page.status_code == 200
    assert number not in page.text
    assert "no-card" in page.text


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/card").status_code == 401
    assert client.get("/card", follow_redirects=False).status_code == 303
