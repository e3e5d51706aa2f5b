"""Registration test helpers: citizens logged in without the identity UI, simulator people."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database
from prakerja.kit.web import CSRF_COOKIE
from prakerja.registration.model import Person
from prakerja.sim.population import Person as SimPerson
from tests.fixtures_sim import *  # noqa: F403  (registry_sim, face_sim, sms_sim, pointed_at ...)

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)


@dataclass
class Citizen:
    """A verified citizen account and the session token that logs it in."""

    account_id: int
    email: str
    token: str

    def login(self, client: TestClient) -> TestClient:
        """Put this citizen's session cookie on `client`."""
        client.cookies.set(COOKIE, self.token)
        return client


def make_citizen(db: Database, *, verified: bool = True) -> Citizen:
    """Create an Account row directly and open a web session for it (identity's service)."""
    email = f"c{uuid.uuid4().hex[:10]}@example.id"
    now = utc_now()
    with db.transaction() as s:
        account = Account(
            public_id=uuid.uuid4().hex,
            email=email,
            password_hash="x",
            kind="citizen",
            roles="",
            status="active",
            language="id",
            failed_logins=0,
            created_at=now,
            email_verified_at=now if verified else None,
        )
        s.add(account)
        s.flush()
        web = open_session(s, account_id=account.id, ip="127.0.0.1", now=now)
        return Citizen(account.id, email, web.token)


@pytest.fixture
def citizen_factory(db: Database) -> Callable[..., Citizen]:
    return lambda **kw: make_citizen(db, **kw)


@pytest.fixture
def people(registry_sim: Any) -> Iterator[SimPerson]:
    """Adults the registry simulator knows, each handed out once per test."""
    adults = [
        p for p in registry_sim.population.people() if (NOW.date() - p.birth_date).days > 19 * 365
    ]
    return iter(adults)


def person_row(db: Database, account_id: int) -> dict[str, Any]:
    """Every column of the account's person row (None when there is none)."""
    with db.transaction() as s:
        person = s.query(Person).filter_by(account_id=account_id).one_or_none()
        if person is None:
            return {}
        return {c.name: getattr(person, c.key) for c in Person.__table__.columns}


def form_token(client: TestClient, path: str) -> str:
    """The CSRF token of a page's form (GET the page first so the cookie exists)."""
    import re

    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert match, f"no form on {path}: {page.status_code}"
    assert client.cookies.get(CSRF_COOKIE)
    return match.group(1)


def profile_of(who: SimPerson, **changes: Any) -> Any:
    """A complete, valid profile for a simulator person (override fields with `changes`)."""
    from prakerja.registration.service_profile import ProfileInput

    values: dict[str, Any] = {
        "full_name": who.name,
        "mother_name": who.mother_name,
        "address": who.address,
        "domicile_regency_code": who.regency_code,
        "village_type": who.village_type,
        "education": "sma",
        "marital_status": "married",
        "dependants": 2,
        "employment_status": "unemployed",
        "occupation": "none",
        "disability": False,
        "migrant_status": "none",
        "other_aid": (),
        "desired_training": "Digital marketing",
    }
    values.update(changes)
    return ProfileInput(**values)


def walk(db: Database, citizen: Citizen, who: SimPerson, upto: str) -> None:
    """Complete the steps before `upto` through the services (registry and face simulators)."""
    from prakerja.registration import service, service_media, service_profile
    from prakerja.sim.face import sample_image

    order = ("identity", "profile", "ktp", "face", "phone")
    for step in order[: order.index(upto)]:
        with db.transaction() as s:
            if step == "identity":
                service.submit_identity(
                    s,
                    account_id=citizen.account_id,
                    nik=who.nik,
                    kk=who.kk,
                    birth_date=who.birth_date,
                    now=utc_now(),
                )
            elif step == "profile":
                service_profile.save_profile(
                    s, account_id=citizen.account_id, data=profile_of(who), now=utc_now()
                )
            elif step == "ktp":
                service_media.upload_ktp(
                    s, account_id=citizen.account_id, data=sample_image(), now=utc_now()
                )
            else:
                service_media.face_check(
                    s,
                    account_id=citizen.account_id,
                    image=sample_image(),
                    blink=True,
                    now=utc_now(),
                )
