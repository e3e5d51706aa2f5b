"""The citizen sees their own card (page and API) and nobody else's."""

import uuid

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.clock import jakarta_date, utc_now
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
    assert client.get("/api/v1/card/movements").status_code == 404
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
    assert client.get("/api/v1/card/movements").status_code == 401
    assert client.get("/card", follow_redirects=False).status_code == 303


def test_the_card_page_lists_the_balance_history_and_what_is_on_hold(db, client):
    import datetime as dt

    from sqlalchemy import select

    from prakerja.wallet import service as ledger
    from prakerja.wallet.model_card import Card

    token, number = _citizen(db, with_card=True)
    now = utc_now()
    with db.transaction() as s:
        card = s.scalars(select(Card).where(Card.number == number)).one()
        mine = card.ledger_account_id
        shop = ledger.open_account(
            s, code=f"platform:{uuid.uuid4().hex[:6]}", kind="platform", now=now
        )
        bought = ledger.hold(s, key=f"a-{number}", from_id=mine, to_id=shop.id, amount=600_000,
                             kind="purchase", now=now + dt.timedelta(minutes=1))  # fmt: skip
        ledger.post(s, transfer_id=bought.id, now=now + dt.timedelta(minutes=2))
        ledger.reverse(s, transfer_id=bought.id, now=now + dt.timedelta(minutes=3))
        ledger.hold(s, key=f"b-{number}", from_id=mine, to_id=shop.id, amount=750_000,
                    kind="purchase", now=now + dt.timedelta(minutes=4))  # fmt: skip
    client.cookies.set(COOKIE, token)
    page = client.get("/card").text
    history = page[page.index('id="history"') :]
    # newest first: the refund, the purchase, the balance received; the open hold apart
    assert history.index("Pengembalian dana") < history.index("Pembelian pelatihan")
    assert history.index("Pembelian pelatihan") < history.index("Saldo pelatihan diterima")
    assert "+Rp600.000" in history
    assert "−Rp600.000" in history
    assert "+Rp3.500.000" in history
    assert "Ditahan untuk pembelian yang belum dikonfirmasi platform: Rp750.000" in history
    assert 'id="year-end"' in page
    assert f"31 Desember {jakarta_date(now).year}" in page
    api = client.get("/api/v1/card/movements").json()
    assert [(m["kind"], m["amount"]) for m in api] == [
        ("refund", 600_000),
        ("purchase", -600_000),
        ("issue", 3_500_000),
    ]
    english = client.get("/card", params={"lang": "en"}).text
    assert "Refund of a cancelled course" in english
    assert f"December 31, {jakarta_date(now).year}" in english
