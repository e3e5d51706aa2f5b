"""Factories for wave tests: registered citizens in chosen regions, waves, logged-in clients."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from prakerja.identity import vault
from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.db import Database, new_id
from prakerja.registration.model import Person
from prakerja.registration.model_policy import ListedPerson
from prakerja.selection import service
from prakerja.selection.service import WavePlan

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
DONE = ("identity", "profile", "ktp", "face", "phone", "statement", "test")
CELLS = ["32.01", "32.02", "33.01"]


def add_person(
    session: Any,
    *,
    regency: str = "32.01",
    family: str | None = None,
    born: dt.date = dt.date(1995, 5, 15),
    complete: bool = True,
    phone: str | None = "auto",
    **fields: Any,
) -> Person:
    """An account plus a registered person (NIK/KK only as blind indexes)."""
    tag = uuid.uuid4().hex[:12]
    if phone == "auto":
        phone = "+628" + str(int(tag, 16) % 10**10).zfill(10)
    account = Account(
        public_id=new_id(),
        email=f"w{tag}@example.id",
        password_hash="x",
        kind="citizen",
        roles="",
        status="active",
        language="id",
        failed_logins=0,
        created_at=NOW,
        email_verified_at=NOW,
        phone=phone,
        phone_verified_at=NOW if phone else None,
    )
    session.add(account)
    session.flush()
    person = Person(
        account_id=account.id,
        nik_bidx=vault.blind_index(f"nik-{tag}", "nik"),
        nik_masked="3201********0001",
        birth_date=born,
        registry_status="matched",
        kk_bidx=vault.blind_index(family or f"kk-{tag}", "kk"),
        sex="L",
        province_code=regency[:2],
        regency_code=regency,
        occupation="none",
        employment_status="unemployed",
        face_status="pass",
        village_type="rural",
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    for step in DONE if complete else ():
        setattr(person, f"{step}_done_at", NOW)
    session.add(person)
    session.flush()
    return person


def list_person(session: Any, person: Person, kind: str) -> None:
    """Put a person on an imported list (priority, exclusion, prior_recipient ...)."""
    session.add(
        ListedPerson(
            list_kind=kind,
            nik_bidx=person.nik_bidx,
            kk_bidx=person.kk_bidx,
            source="test",
            reason="",
            imported_at=NOW,
        )
    )
    session.flush()


def plan(
    session: Any,
    *,
    code: str | None = None,
    places: int = 4,
    cells: list[str] | None = None,
    opens: dt.datetime = NOW - dt.timedelta(days=1),
    **quota: Any,
) -> Any:
    """A planned wave over `cells` (default three regencies)."""
    return service.plan_wave(
        session,
        plan=WavePlan(
            code=code or f"W{uuid.uuid4().hex[:6]}",
            name="Gelombang uji",
            opens_at=opens,
            closes_at=opens + dt.timedelta(days=7),
            total_quota=places,
            regions_open=cells or CELLS,
            quota=quota,
        ),
        actor="staff:test",
        now=NOW,
    )


def open_committed(session: Any, **kw: Any) -> Any:
    """A planned, committed and opened wave."""
    wave = plan(session, **kw)
    service.publish_commitment(session, wave_id=wave.id, actor="staff:test", now=NOW)
    service.open_wave(session, wave_id=wave.id, actor="staff:test", now=NOW)
    return wave


def login(client: Any, db: Database, account_id: int) -> Any:
    """Put a web session cookie for the account on the client."""
    with db.transaction() as s:
        token = open_session(
            s, account_id=account_id, ip="127.0.0.1", now=dt.datetime.now(dt.UTC)
        ).token
    client.cookies.set(COOKIE, token)
    return client


def add_application(
    session: Any, wave_id: int, person_id: int, status: str, *, at: dt.datetime = NOW
) -> None:
    """An application of the person to the wave in `status`, written directly (no screening)."""
    from prakerja.selection.model import Application

    session.add(
        Application(
            wave_id=wave_id,
            person_id=person_id,
            regency_code="32.01",
            receipt=service.new_receipt(),
            joined_at=at,
            consent_at=at,
            status=status,
            reasons=[],
        )
    )
    session.flush()
