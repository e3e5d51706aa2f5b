"""Helpers for identity tests: read the dev notification table, make accounts, set keys."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity import errors, service
from prakerja.identity.model import Account
from prakerja.kit.notify import Notification
from prakerja.settings import get_settings

NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
PASSWORD = "Kopi-tubruk-2026"


def attempt(db, fn, **kwargs):  # type: ignore[no-untyped-def]
    """Run a service call as an entrypoint would: commit, or commit a counted refusal's count
    and re-raise."""
    with db.transaction() as s:
        try:
            return fn(s, **kwargs)
        except errors.CountedRefusal:
            s.commit()
            raise


def last_message(session: Session, to: str) -> Notification:
    """The newest email or SMS sent to `to`."""
    note = session.scalar(
        select(Notification)
        .where(Notification.recipient == to)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert note is not None, f"nothing was sent to {to}"
    return note


def code_in(note: Notification) -> str:
    match = re.search(r"\b(\d{6})\b", note.body)
    assert match, note.body
    return match.group(1)


def token_in(note: Notification) -> str:
    match = re.search(r"token=(\S+)", note.body)
    assert match, note.body
    return match.group(1)


def make_citizen(
    session: Session,
    email: str = "siti@example.id",
    *,
    verified: bool = True,
    now: dt.datetime = NOW,
) -> Account:
    account = service.register_account(
        session, email=email, password=PASSWORD, language="id", now=now
    )
    if verified:
        service.verify_email(session, token=token_in(last_message(session, account.email)), now=now)
    return account


@pytest.fixture
def set_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Point PRAKERJA_PII_KEYS at the given key ids (deterministic keys derived from the ids)."""

    def apply(*kids: str) -> None:
        ring = ",".join(f"{k}:{base64.b64encode((k * 32).encode()[:32]).decode()}" for k in kids)
        monkeypatch.setenv("PRAKERJA_PII_KEYS", ring)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def cli_db(db, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Point the CLI's open_db() at the test database."""
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()
