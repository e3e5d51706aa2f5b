"""The identity use-cases, one import away (implemented in service_*.py by use-case).

Transactions: every function only flushes. A `CountedRefusal` (wrong password or code, lock)
has flushed its attempt counters and nothing else; call `settle(session, exc)` when catching a
DomainError so those counters are committed while any other refusal is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from prakerja.identity.errors import CountedRefusal
from prakerja.identity.service_account import (
    create_staff,
    register_account,
    request_password_reset,
    reset_password,
    send_verification,
    verify_email,
)
from prakerja.identity.service_login import (
    complete_login,
    resend_login_code,
    staff_login,
    start_login,
)
from prakerja.identity.service_phone import confirm_phone, start_phone_verification
from prakerja.identity.service_session import (
    COOKIE,
    account_for_token,
    logout,
    open_session,
    revoke_all,
)
from prakerja.kit.errors import DomainError


def settle(session: Session, exc: DomainError) -> None:
    """After a refusal: commit a CountedRefusal's counters, roll anything else back."""
    if isinstance(exc, CountedRefusal):
        session.commit()
    else:
        session.rollback()


@contextmanager
def counting_refusals(session: Session) -> Iterator[None]:
    """For API routes: let errors through, but commit a CountedRefusal's counters first."""
    try:
        yield
    except CountedRefusal:
        session.commit()
        raise


__all__ = [
    "COOKIE",
    "account_for_token",
    "complete_login",
    "confirm_phone",
    "counting_refusals",
    "create_staff",
    "logout",
    "open_session",
    "register_account",
    "request_password_reset",
    "resend_login_code",
    "reset_password",
    "revoke_all",
    "send_verification",
    "settle",
    "staff_login",
    "start_login",
    "start_phone_verification",
    "verify_email",
]
