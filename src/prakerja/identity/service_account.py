"""Accounts: citizen sign-up with email confirmation, password reset, staff creation."""

from __future__ import annotations

import datetime as dt
import hashlib

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity import passwords, rules, tokens, vault
from prakerja.identity.errors import (
    EmailTaken,
    InvalidEmail,
    InvalidLink,
    InvalidRoles,
    WeakPassword,
)
from prakerja.identity.model import CITIZEN, ROLES, STAFF, Account
from prakerja.identity.service_codes import locked_account
from prakerja.identity.service_session import revoke_all
from prakerja.kit import notify
from prakerja.kit.counters import Allowance
from prakerja.kit.db import add_new, new_id
from prakerja.kit.errors import Invalid
from prakerja.kit.i18n import LANGUAGES, gettext
from prakerja.settings import get_settings

ISSUER = "Prakerja"


def _checked_email(email: str) -> str:
    normal = rules.normalise_email(email)
    if normal is None:
        raise InvalidEmail()
    return normal


def _checked_password(password: str, email: str) -> str:
    if rules.password_problem(password, email) is not None:
        raise WeakPassword()
    return passwords.hash_password(password)


def _insert(session: Session, account: Account) -> Account:
    """Add the account; EmailTaken when the address is in use (the unique index decides, also
    against a concurrent sign-up, which waits for the first and then finds it: no read first,
    no savepoint)."""
    if not add_new(session, account, unless="email"):
        raise EmailTaken()
    return account


def register_account(
    session: Session, *, email: str, password: str, language: str, now: dt.datetime
) -> Account:
    """Create a citizen account and email a 48-hour confirmation link; nothing on bad input."""
    address = _checked_email(email)
    if language not in LANGUAGES:
        raise Invalid("language must be 'id' or 'en'")
    account = Account(
        public_id=new_id(),
        email=address,
        password_hash=_checked_password(password, address),
        kind=CITIZEN,
        roles="",
        status="active",
        language=language,
        failed_logins=0,
        created_at=now,
    )
    _insert(session, account)
    send_verification(session, account=account, now=now)
    return account


def send_verification(session: Session, *, account: Account, now: dt.datetime) -> None:
    """Email a fresh confirmation link valid for 48 hours."""
    token = tokens.sign(
        "verify-email", {"a": account.id, "e": account.email}, expires=now + rules.VERIFY_LINK_TTL
    )
    link = f"{get_settings().base_url}/verify-email?token={token}"
    lang = account.language
    body = gettext(lang, "Open this link within 48 hours to confirm your email address:")
    notify.send_email(
        session,
        to=account.email,
        now=now,
        subject=gettext(lang, "Confirm your Prakerja email address"),
        body=f"{body}\n\n{link}\n\n"
        + gettext(lang, "If you did not register, ignore this message."),
    )


def verify_email(session: Session, *, token: str, now: dt.datetime) -> Account:
    """Mark the email confirmed (idempotent); InvalidLink if the token is forged or expired."""
    data = tokens.unsign("verify-email", token, now=now)
    account = session.get(Account, data["a"]) if data else None
    if data is None or account is None or account.email != data.get("e"):
        raise InvalidLink()
    if account.email_verified_at is None:
        account.email_verified_at = now
        session.flush()
    return account


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


_RESET_LINKS = Allowance(
    Account.reset_sends, rules.RESETS_PER_HOUR, period=Account.reset_sends_hour
)


def request_password_reset(session: Session, *, email: str, now: dt.datetime) -> None:
    """Email a one-hour, one-time reset link if the account exists, at most 3 in a clock hour;
    silent either way, so the answer tells nobody whether the address has an account."""
    address = rules.normalise_email(email)
    account = session.scalar(select(Account).where(Account.email == address)) if address else None
    if account is None or account.status != "active":
        return
    if not _RESET_LINKS.take(session, account, now.replace(minute=0, second=0, microsecond=0)):
        return
    token = tokens.sign(
        "password-reset",
        {"a": account.id, "p": _fingerprint(account.password_hash)},
        expires=now + rules.RESET_LINK_TTL,
    )
    link = f"{get_settings().base_url}/password/reset?token={token}"
    lang = account.language
    notify.send_email(
        session,
        to=account.email,
        now=now,
        subject=gettext(lang, "Reset your Prakerja password"),
        body=gettext(lang, "Open this link within one hour to choose a new password:")
        + f"\n\n{link}\n\n"
        + gettext(lang, "If you did not ask for this, ignore this message."),
    )


def reset_password(session: Session, *, token: str, password: str, now: dt.datetime) -> Account:
    """Set a new password from a valid link (usable once) and log out every session."""
    data = tokens.unsign("password-reset", token, now=now)
    # locked and read as it is now: of two uses of one link at once, one sets the password
    account = locked_account(session, data["a"]) if data else None
    if data is None or account is None or data.get("p") != _fingerprint(account.password_hash):
        raise InvalidLink()
    account.password_hash = _checked_password(password, account.email)
    account.failed_logins, account.locked_until = 0, None
    revoke_all(session, account_id=account.id, now=now)
    session.flush()
    return account


def create_staff(
    session: Session,
    *,
    email: str,
    password: str,
    roles: list[str] | tuple[str, ...],
    now: dt.datetime,
) -> tuple[Account, str]:
    """Create a staff account with a fresh TOTP secret; returns it and the provisioning URI."""
    address = _checked_email(email)
    wanted = [r.strip() for r in roles if r.strip()]
    if not wanted or any(r not in ROLES for r in wanted):
        raise InvalidRoles(f"roles must be among {', '.join(ROLES)}")
    secret = pyotp.random_base32()
    account = Account(
        public_id=new_id(),
        email=address,
        kind=STAFF,
        password_hash=_checked_password(password, address),
        roles=",".join(dict.fromkeys(wanted)),
        status="active",
        language="id",
        failed_logins=0,
        email_verified_at=now,
        created_at=now,
        totp_secret_enc=vault.encrypt_text(secret),
    )
    _insert(session, account)
    session.flush()
    return account, pyotp.TOTP(secret).provisioning_uri(name=address, issuer_name=ISSUER)
