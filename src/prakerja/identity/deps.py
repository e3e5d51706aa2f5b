"""FastAPI dependencies: who is calling, from the `pk_session` cookie.

Each sets `request.state.user` so pages show the logout button. Use as
`account: CurrentCitizen` or `staff: Annotated[Account, Depends(require_staff("admin"))]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from prakerja.identity.errors import NotVerified
from prakerja.identity.model import CITIZEN, STAFF, Account
from prakerja.identity.service_session import COOKIE, account_for_token
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database
from prakerja.kit.errors import Forbidden, Unauthenticated
from prakerja.kit.routing import DbSession

STAFF_LOGIN_URL = "/staff/login"


@dataclass(frozen=True)
class SignedIn:
    """What pages need about the caller; a plain snapshot, readable after a rollback."""

    id: int
    email: str
    kind: str
    home_url: str


async def _optional_account(request: Request, session: DbSession) -> Account | None:
    """The caller's account, looked up on the event loop's thread (`Database.on_loop`: one
    indexed read, cheaper there than a thread hand-off) and then attached to the request's
    session, which has not touched the database yet."""
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    db: Database = request.app.state.db
    now = utc_now()
    account = db.on_loop(lambda lookup: account_for_token(lookup, token=token, now=now))
    if account is None:
        return None
    session.add(account)
    request.state.user = SignedIn(account.id, account.email, account.kind, account.home_url)
    return account


OptionalAccount = Annotated[Account | None, Depends(_optional_account)]


async def _current_account(account: OptionalAccount) -> Account:
    if account is None:
        raise Unauthenticated()
    return account


CurrentAccount = Annotated[Account, Depends(_current_account)]


async def _current_citizen(account: CurrentAccount) -> Account:
    if account.kind != CITIZEN:
        raise Forbidden()
    if account.email_verified_at is None:
        raise NotVerified()
    return account


CurrentCitizen = Annotated[Account, Depends(_current_citizen)]


def require_staff(*roles: str) -> Callable[..., Awaitable[Account]]:
    """A dependency admitting staff holding any of `roles` (any staff if none; admin always)."""

    async def _staff(account: OptionalAccount) -> Account:
        if account is None:
            raise Unauthenticated(login_url=STAFF_LOGIN_URL)
        if account.kind != STAFF or (roles and not account.has_role(*roles)):
            raise Forbidden()
        return account

    return _staff


StaffAccount = Annotated[Account, Depends(require_staff())]
