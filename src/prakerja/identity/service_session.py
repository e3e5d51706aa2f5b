"""Web sessions: opened after login, looked up per request, idle-expired, revocable."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from prakerja.identity import rules, tokens
from prakerja.identity.model import Account, WebSession

COOKIE = "pk_session"
# Built once (this runs on every signed-in request): one round trip for both rows.
_SESSION_AND_ACCOUNT = (
    select(WebSession, Account)
    .join(Account, Account.id == WebSession.account_id)
    .where(WebSession.token_hash == bindparam("token_hash"))
)


def open_session(session: Session, *, account_id: int, ip: str, now: dt.datetime) -> WebSession:
    """A new session; the returned object's `.token` is the only copy of the clear token."""
    token = tokens.new_token()
    web = WebSession(
        token_hash=tokens.token_hash(token),
        account_id=account_id,
        ip=ip[:45],
        created_at=now,
        last_seen_at=now,
    )
    session.add(web)
    session.flush()
    web.token = token
    return web


def account_for_token(session: Session, *, token: str, now: dt.datetime) -> Account | None:
    """The active account behind a live session token (touching its idle timer), else None."""
    if not token or len(token) > 100:
        return None
    row = session.execute(_SESSION_AND_ACCOUNT, {"token_hash": tokens.token_hash(token)}).first()
    if row is None:
        return None
    web, account = row
    if web.revoked_at is not None or now - web.last_seen_at > rules.SESSION_IDLE:
        return None
    if account.status != "active":
        return None
    if now - web.last_seen_at > rules.SESSION_TOUCH:
        web.last_seen_at = now
    return account


def logout(session: Session, *, token: str, now: dt.datetime) -> None:
    """Revoke the session behind `token` (unknown or already revoked tokens are ignored)."""
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == tokens.token_hash(token), WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all(session: Session, *, account_id: int, now: dt.datetime) -> int:
    """Revoke every live session of an account (password reset, blocking). Returns the count."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.account_id == account_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
