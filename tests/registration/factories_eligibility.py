"""Factories for eligibility tests: accounts, fully registered persons, list files, staff."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from prakerja.identity import vault
from prakerja.identity.model import Account
from prakerja.kit.db import new_id
from prakerja.registration.model import Person
from prakerja.registration.nik import mask_nik

NOW = dt.datetime(2025, 6, 15, 3, 0, tzinfo=dt.UTC)
DONE = ("identity", "profile", "ktp", "face", "phone", "statement", "test")


def nik(serial: int, born: dt.date = dt.date(1995, 5, 15), female: bool = False) -> str:
    """A valid NIK in Kab. Bogor (32.01), kecamatan 01."""
    day = born.day + (40 if female else 0)
    return f"320101{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"


def kk(n: int) -> str:
    return f"3201{n:012d}"


def make_person(
    session,
    serial: int,
    *,
    born: dt.date = dt.date(1995, 5, 15),
    family: int | None = None,
    complete: bool = True,
    **fields,
) -> Person:
    account = Account(
        public_id=new_id(),
        email=f"p{serial}@example.id",
        password_hash="x",
        kind="citizen",
        created_at=NOW,
    )
    session.add(account)
    session.flush()
    number = nik(serial, born)
    person = Person(
        account_id=account.id,
        nik_bidx=vault.blind_index(number, "nik"),
        nik_masked=mask_nik(number),
        birth_date=born,
        registry_status="matched",
        kk_bidx=vault.blind_index(kk(family if family is not None else serial), "kk"),
        occupation="farmer",
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    for step in DONE if complete else ():
        setattr(person, f"{step}_done_at", NOW)
    session.add(person)
    session.flush()
    return person


def write_csv(path: Path, rows: list[str], header: str = "nik,reason") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def staff_client(client, db, *roles: str):
    """Log `client` in as a new staff member holding `roles`; returns the client."""
    from prakerja.identity.service_account import create_staff
    from prakerja.identity.service_session import COOKIE, open_session

    with db.transaction() as s:
        account, _ = create_staff(
            s,
            email=f"{'-'.join(roles)}-{new_id()[:6]}@prakerja.go.id",
            password="a long staff passphrase 2025",
            roles=roles,
            now=NOW,
        )
        web = open_session(s, account_id=account.id, ip="127.0.0.1", now=dt.datetime.now(dt.UTC))
        token = web.token
    client.cookies.set(COOKIE, token)
    return client


def csrf(client, url: str) -> str:
    """The form token from a page (the GET also sets the CSRF cookie)."""
    page = client.get(url)
    assert page.status_code == 200, page.text[:500]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)
