"""Marketplace test helpers: curated partners with keys, citizens holding a funded card,
signed partner calls through the test client."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database
from prakerja.kit.notify import Notification
from prakerja.marketplace import rules, service_catalogue, service_partner, signing
from prakerja.marketplace.model import Course, Partner
from prakerja.registration.model import Person
from prakerja.wallet import service_card
from prakerja.wallet.model_card import Card

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
_seq = itertools.count(1)
STEPS = ("due_diligence", "assessment", "approved", "active")


@dataclass
class Keys:
    partner_id: int
    client_id: str
    secret: str


@dataclass
class Buyer:
    account_id: int
    card_id: int
    card_number: str
    account_code: int  # ledger account id
    phone: str
    token: str

    def login(self, client: TestClient) -> TestClient:
        client.cookies.set(COOKIE, self.token)
        return client


def make_partner(
    session: Session,
    kind: str,
    *,
    code: str | None = None,
    active: bool = True,
    webhook_url: str | None = None,
) -> Partner:
    partner = service_partner.apply(
        session,
        code=code or f"{kind[:4]}{next(_seq)}",
        name=f"{kind} {uuid.uuid4().hex[:4]}",
        kind=kind,
        actor="test",
        now=NOW,
        webhook_url=webhook_url,
    )
    if active:
        for step in STEPS:
            service_partner.advance(session, partner_id=partner.id, to=step, actor="test", now=NOW)
    return partner


def make_keys(session: Session, partner: Partner) -> Keys:
    cred, secret = service_partner.issue_credential(
        session, partner_id=partner.id, actor="test", now=NOW
    )
    return Keys(partner.id, cred.client_id, secret)


def make_course(
    session: Session,
    platform: Partner,
    provider: Partner,
    *,
    price: int = 500_000,
    capacity: int | None = None,
    mode: str = "self_paced",
    approve: bool = True,
) -> Course:
    data = rules.CourseInput(
        external_ref=f"c{next(_seq)}",
        provider_code=provider.code,
        title="Digital marketing untuk UMKM",
        category="Pemasaran",
        mode=mode,
        hours=16,
        price=price,
        capacity=capacity,
        syllabus="Teori 30%, praktik 70%",
    )
    course, _ = service_catalogue.publish_course(session, platform=platform, data=data, now=NOW)
    if approve:
        service_catalogue.assess_course(
            session, course_id=course.id, approve=True, actor="assessor", now=NOW
        )
    return course


def make_buyer(
    session: Session, *, phone_verified: bool = True, issued_at: dt.datetime = NOW
) -> Buyer:
    """A citizen holding a card issued at `issued_at`: buying through the web (the real clock)
    needs `issued_at=utc_now()`, or the card's first-purchase deadline will have passed."""
    n = next(_seq)
    phone = f"+62812{uuid.uuid4().int % 10**8:08d}"
    account = Account(
        public_id=uuid.uuid4().hex,
        email=f"b{n}{uuid.uuid4().hex[:6]}@example.id",
        password_hash="x",
        kind="citizen",
        roles="",
        status="active",
        language="id",
        failed_logins=0,
        created_at=NOW,
        email_verified_at=NOW,
        phone=phone,
        phone_verified_at=NOW if phone_verified else None,
    )
    session.add(account)
    session.flush()
    person = Person(account_id=account.id, created_at=NOW, updated_at=NOW)
    session.add(person)
    session.flush()
    card = service_card.issue_card(
        session,
        application_id=10_000 + account.id,
        person_id=person.id,
        wave_id=1,
        policy_version_id=None,
        now=issued_at,
    )
    web = open_session(session, account_id=account.id, ip="127.0.0.1", now=utc_now())
    assert card.ledger_account_id is not None
    return Buyer(account.id, card.id, card.number, card.ledger_account_id, phone, web.token)


def sms_code(session: Session, phone: str) -> str:
    note = session.scalar(
        select(Notification)
        .where(Notification.recipient == phone)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert note is not None
    match = re.search(r"\b(\d{6})\b", note.body)
    assert match, note.body
    return match.group(1)


def card_of(session: Session, buyer: Buyer) -> Card:
    return service_card.get_card(session, buyer.card_id)


def signed(
    client: TestClient,
    keys: Keys,
    method: str,
    path: str,
    payload: Any = None,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    body = b"" if payload is None else json.dumps(payload).encode()
    # a fresh nonce per call, so a deliberate repeat is not a replay
    hdrs = signing.sign(
        keys.client_id,
        secret or keys.secret,
        method,
        path,
        body,
        timestamp,
        nonce=signing.new_nonce(),
    )
    hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    return client.request(method, path, content=body, headers=hdrs)


@dataclass
class Market:
    platform: Partner
    provider: Partner
    keys: Keys
    course: Course


@pytest.fixture
def market(db: Database) -> Market:
    with db.transaction() as s:
        platform = make_partner(s, "platform")
        provider = make_partner(s, "provider")
        keys = make_keys(s, platform)
        course = make_course(s, platform, provider)
        return Market(platform, provider, keys, course)


def start_order(client, db, buyer, course_public_id: str, key: str) -> tuple[str, str]:
    """Start a purchase through the citizen API as `buyer` (logged in on `client`): the order's
    id and the SMS code it sent."""
    started = client.post(
        "/api/v1/orders",
        json={
            "course_id": course_public_id,
            "card_number": buyer.card_number,
            "idempotency_key": key,
        },
    )
    assert started.status_code == 201, started.text
    with db.sessions() as s:
        return started.json()["id"], sms_code(s, buyer.phone)
