"""Helpers of the desk tests: accounts logged in without the identity UI, message factories."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from prakerja.feedback.intake_rules import Incoming
from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.db import Database

NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@dataclass
class Who:
    """An account and the session token that logs it in."""

    id: int
    email: str
    token: str

    def login(self, client: TestClient) -> TestClient:
        client.cookies.set(COOKIE, self.token)
        return client


def make_account(
    db: Database, *, roles: str = "", phone: str | None = None, status: str = "active"
) -> Who:
    """A citizen (no roles) or a staff account (roles like "agent"), with an open web session."""
    email = f"u{uuid.uuid4().hex[:10]}@example.id"
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        account = Account(
            public_id=uuid.uuid4().hex,
            email=email,
            password_hash="x",
            kind="staff" if roles else "citizen",
            roles=roles,
            status=status,
            language="id",
            failed_logins=0,
            created_at=now,
            email_verified_at=now,
            phone=phone,
        )
        s.add(account)
        s.flush()
        web = open_session(s, account_id=account.id, ip="127.0.0.1", now=now)
        return Who(account.id, email, web.token)


def chat(source: str, text: str, *, at: dt.datetime = NOW, **kw: Any) -> Incoming:
    return Incoming(
        channel=kw.pop("channel", "chat"), source_id=source, received_at=at, body=text, **kw
    )


def form_token(client: TestClient, path: str) -> str:
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert match, f"no form on {path}: {page.status_code}"
    return match.group(1)
