"""Login: password then an emailed 6-digit code (citizens), password + TOTP (staff).

Refusals that count an attempt raise a `CountedRefusal` after flushing only the counters; the
entrypoint commits them (see `service.settle`) so that guessing is limited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

import pyotp
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from prakerja.identity import passwords, rules, tokens, vault
from prakerja.identity.errors import (
    CodeExpired,
    InvalidCredentials,
    LoginLocked,
    TooManyAttempts,
    WrongCode,
)
from prakerja.identity.model import (
    CITIZEN,
    STAFF,
    Account,
    LoginChallenge,
    LoginFailure,
    WebSession,
)
from prakerja.identity.service_codes import count_wrong_code, locked_account
from prakerja.identity.service_session import open_session
from prakerja.kit import notify
from prakerja.kit.db import lock_for_update
from prakerja.kit.i18n import gettext


def _check_rate(session: Session, key: str, ip: str, now: dt.datetime) -> None:
    since = now - rules.FAILURE_WINDOW
    by_email = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.email_key == key, LoginFailure.at > since)
    )
    by_ip = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.ip == ip, LoginFailure.at > since)
    )
    if (by_email or 0) >= rules.FAILURES_PER_EMAIL or (by_ip or 0) >= rules.FAILURES_PER_IP:
        raise TooManyAttempts()


def _fail(
    session: Session, key: str, ip: str, account: Account | None, now: dt.datetime
) -> NoReturn:
    session.add(LoginFailure(email_key=key, ip=ip, at=now))
    if account is not None:
        account.failed_logins += 1
    session.flush()
    raise InvalidCredentials()


def _authenticate(
    session: Session, *, email: str, password: str, kind: str, ip: str, now: dt.datetime
) -> Account:
    """The active account of `kind` with this password; same answer and timing for unknowns."""
    address = rules.normalise_email(email)
    key, ip = tokens.email_key(address or email.strip().lower()), ip[:45]
    # The account is locked before its failures are counted, so guesses sent at once queue
    # here and each counts every failure committed before it; the lock is held through the
    # password check (one account's logins run one at a time). The address's count for an
    # unknown email and the IP's count are not serialised: nothing is there to guess, and a
    # burst can pass the IP limit by at most the requests in flight.
    by_email = select(Account).where(Account.email == address)
    account = session.scalar(lock_for_update(session, by_email)) if address else None
    _check_rate(session, key, ip, now)
    if account is None:
        passwords.burn_time(password)
        _fail(session, key, ip, None, now)
    if (
        not passwords.verify_password(account.password_hash, password)
        or account.kind != kind
        or account.status != "active"
    ):
        _fail(session, key, ip, account, now)
    if rules.is_locked(account.locked_until, now):
        raise LoginLocked()
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return account


def _send_code(session: Session, account: Account, code: str, now: dt.datetime) -> None:
    lang = account.language
    notify.send_email(
        session,
        to=account.email,
        now=now,
        subject=gettext(lang, "Your Prakerja login code"),
        body=gettext(lang, "Your login code is %(code)s. It expires in 10 minutes.", code=code)
        + "\n\n"
        + gettext(lang, "Never give this code to anyone, including officers."),
    )


def start_login(session: Session, *, email: str, password: str, ip: str, now: dt.datetime) -> str:
    """Check the password and email a fresh code; returns the challenge id for step 2."""
    account = _authenticate(session, email=email, password=password, kind=CITIZEN, ip=ip, now=now)
    session.execute(
        update(LoginChallenge)
        .where(LoginChallenge.account_id == account.id, LoginChallenge.status == "open")
        .values(status="dead")
    )
    code = tokens.new_code()
    challenge = LoginChallenge(
        public_id=tokens.new_token(),
        account_id=account.id,
        code_hash="",
        status="open",
        attempts=0,
        resends=0,
        ip=ip[:45],
        expires_at=now + rules.CODE_TTL,
        created_at=now,
    )
    challenge.code_hash = tokens.code_hash("login", challenge.public_id, code)
    session.add(challenge)
    session.flush()
    _send_code(session, account, code, now)
    return challenge.public_id


def _open_challenge(session: Session, challenge_id: str, now: dt.datetime) -> LoginChallenge:
    if not tokens.is_token(challenge_id):
        raise CodeExpired()
    challenge = session.scalar(
        select(LoginChallenge).where(LoginChallenge.public_id == challenge_id)
    )
    if challenge is None or not _is_open(challenge, now):
        raise CodeExpired()
    return challenge


def _is_open(challenge: LoginChallenge, now: dt.datetime) -> bool:
    return challenge.status == "open" and challenge.expires_at > now


def resend_login_code(session: Session, *, challenge_id: str, now: dt.datetime) -> None:
    """Email a new code; past 5 resends in 2 hours the account's login locks for 2 hours."""
    challenge = _open_challenge(session, challenge_id, now)
    # Resends asked at once queue on the account's lock, and each then reads the challenge
    # as the one before it left it: otherwise every one counts the same resends and sends.
    account = locked_account(session, challenge.account_id)
    session.refresh(challenge)
    if account is None or not _is_open(challenge, now):
        raise CodeExpired()
    _lock_when_spent(session, account, challenge, LoginChallenge.resends, rules.RESEND_MAX, now)
    code = tokens.new_code()
    challenge.code_hash = tokens.code_hash("login", challenge.public_id, code)
    challenge.resends += 1  # the wrong codes already tried still count (see _wrong_code)
    challenge.expires_at = now + rules.CODE_TTL
    session.flush()
    _send_code(session, account, code, now)


def _lock_when_spent(
    session: Session,
    account: Account,
    challenge: LoginChallenge,
    column: Any,
    limit: int,
    now: dt.datetime,
) -> None:
    """Kill the challenge and lock the login for RESEND_LOCK once `column` (resends, or wrong
    codes) summed over the account's challenges of the last RESEND_LOCK reaches `limit`."""
    recent = session.scalar(
        select(func.coalesce(func.sum(column), 0)).where(
            LoginChallenge.account_id == account.id,
            LoginChallenge.created_at > now - rules.RESEND_LOCK,
        )
    )
    if int(recent or 0) >= limit:
        challenge.status = "dead"
        account.locked_until = now + rules.RESEND_LOCK
        session.flush()
        raise LoginLocked(locked_until=account.locked_until.isoformat())


_USE_CHALLENGE = (
    update(LoginChallenge)
    .where(LoginChallenge.id == bindparam("challenge_id"), LoginChallenge.status == "open")
    .values(status="done")
    .execution_options(synchronize_session=False)
)


def complete_login(
    session: Session, *, challenge_id: str, code: str, now: dt.datetime
) -> WebSession:
    """Open a web session for a right code; 5 wrong codes kill the challenge."""
    challenge = _open_challenge(session, challenge_id, now)
    account = session.get_one(Account, challenge.account_id)
    expected = tokens.code_hash("login", challenge.public_id, code.strip())
    if not tokens.same(expected, challenge.code_hash):
        _wrong_code(session, account, challenge, now)
    if account.status != "active":
        raise CodeExpired()
    if rules.is_locked(account.locked_until, now):
        raise LoginLocked()
    # Used only if still open: of two requests with the right code at once, one opens a session.
    used = session.execute(_USE_CHALLENGE, {"challenge_id": challenge.id})
    if not used.rowcount:  # type: ignore[attr-defined]
        raise CodeExpired()
    set_committed_value(challenge, "status", "done")
    account.failed_logins = 0
    if account.email_verified_at is None:  # the emailed code proves the address too
        account.email_verified_at = now
    return open_session(session, account_id=account.id, ip=challenge.ip, now=now)


def _wrong_code(
    session: Session, account: Account, challenge: LoginChallenge, now: dt.datetime
) -> NoReturn:
    """Count a wrong code three ways: on its challenge (5 kill it), as a failed login of the
    address and the IP (the next password step is rate-limited as after a wrong password), and
    over the account's challenges of the last RESEND_LOCK (CODE_WRONG_MAX lock its login)."""
    counted = count_wrong_code(session, challenge, max_tries=rules.CODE_MAX_TRIES)
    if counted is None:
        raise CodeExpired()
    session.add(LoginFailure(email_key=tokens.email_key(account.email), ip=challenge.ip, at=now))
    limit = rules.CODE_WRONG_MAX
    _lock_when_spent(session, account, challenge, LoginChallenge.attempts, limit, now)
    session.flush()
    if counted >= rules.CODE_MAX_TRIES:
        raise CodeExpired()
    raise WrongCode(tries_left=rules.CODE_MAX_TRIES - counted)


def _totp_step(secret: str, code: str, last_step: int | None, now: dt.datetime) -> int | None:
    """The time step `code` belongs to (one step of clock drift allowed), unless already used."""
    totp, current = pyotp.TOTP(secret), int(now.timestamp()) // 30
    for step in (current, current - 1, current + 1):
        if (last_step is None or step > last_step) and tokens.same(totp.at(step * 30), code):
            return step
    return None


def staff_login(
    session: Session, *, email: str, password: str, totp_code: str, ip: str, now: dt.datetime
) -> WebSession:
    """Open a staff session after password and a fresh TOTP code; failures count like citizens'."""
    account = _authenticate(session, email=email, password=password, kind=STAFF, ip=ip, now=now)
    secret = vault.decrypt_text(account.totp_secret_enc) if account.totp_secret_enc else ""
    step = _totp_step(secret, totp_code.strip(), account.totp_last_step, now) if secret else None
    if step is None:
        _fail(session, tokens.email_key(account.email), ip[:45], account, now)
    account.totp_last_step, account.failed_logins = step, 0
    return open_session(session, account_id=account.id, ip=ip, now=now)
