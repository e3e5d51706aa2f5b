"""Phone confirmation by SMS code: Indonesian mobile numbers only, one active account each."""

from __future__ import annotations

import datetime as dt
from typing import NoReturn

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.identity import rules, tokens
from prakerja.identity.errors import NoCodePending, PhoneInvalid, PhoneLocked, PhoneTaken, WrongCode
from prakerja.identity.model import Account, PhoneChallenge
from prakerja.identity.service_codes import count_wrong_code, locked_account
from prakerja.kit import notify
from prakerja.kit.errors import NotFound
from prakerja.kit.i18n import gettext


def _active_account(session: Session, account_id: int, *, lock: bool = False) -> Account:
    account = locked_account(session, account_id) if lock else session.get(Account, account_id)
    if account is None or account.status != "active":
        raise NotFound("account not found")
    return account


def _check_not_locked(session: Session, account_id: int, now: dt.datetime) -> None:
    locked = session.scalar(
        select(func.max(PhoneChallenge.locked_until)).where(PhoneChallenge.account_id == account_id)
    )
    if rules.is_locked(locked, now):
        raise PhoneLocked(locked_until=locked.isoformat() if locked else "")


def _check_free(session: Session, account_id: int, phone: str) -> None:
    other = session.scalar(
        select(Account.id).where(
            Account.phone == phone, Account.status == "active", Account.id != account_id
        )
    )
    if other is not None:
        raise PhoneTaken()


def start_phone_verification(
    session: Session, *, account_id: int, phone: str, now: dt.datetime
) -> None:
    """Text a 6-digit code to the normalised number; at most 5 codes an hour per account."""
    number = rules.normalise_phone(phone)
    if number is None:
        raise PhoneInvalid()
    # Locked first, so that codes asked at once queue here and each counts those before it.
    account = _active_account(session, account_id, lock=True)
    _check_not_locked(session, account.id, now)
    _check_free(session, account.id, number)
    sent = session.scalar(
        select(func.count())
        .select_from(PhoneChallenge)
        .where(
            PhoneChallenge.account_id == account.id,
            PhoneChallenge.created_at > now - dt.timedelta(hours=1),
        )
    )
    if (sent or 0) >= rules.PHONE_SENDS_PER_HOUR:
        raise PhoneLocked()
    session.execute(
        update(PhoneChallenge)
        .where(PhoneChallenge.account_id == account.id, PhoneChallenge.status == "open")
        .values(status="dead")
    )
    code = tokens.new_code()
    challenge = PhoneChallenge(
        account_id=account.id,
        phone=number,
        code_hash="",
        status="open",
        attempts=0,
        expires_at=now + rules.CODE_TTL,
        created_at=now,
    )
    session.add(challenge)
    session.flush()
    challenge.code_hash = tokens.code_hash("phone", challenge.id, number, code)
    notify.send_sms(
        session,
        to=number,
        now=now,
        body=gettext(
            account.language, "Prakerja code %(code)s. Never give this code to anyone.", code=code
        ),
    )


def confirm_phone(session: Session, *, account_id: int, code: str, now: dt.datetime) -> None:
    """Set the account's phone from a right code; 3 wrong codes lock confirmation for an hour."""
    account = _active_account(session, account_id)
    _check_not_locked(session, account.id, now)
    challenge = session.scalar(
        select(PhoneChallenge)
        .where(PhoneChallenge.account_id == account.id, PhoneChallenge.status == "open")
        .order_by(PhoneChallenge.id.desc())
        .limit(1)
    )
    if challenge is None or challenge.expires_at <= now:
        _check_not_locked(session, account.id, now)  # a parallel guess may have locked it since
        raise NoCodePending()
    expected = tokens.code_hash("phone", challenge.id, challenge.phone, code.strip())
    if not tokens.same(expected, challenge.code_hash):
        _wrong_code(session, challenge, now)
    _check_free(session, account.id, challenge.phone)
    challenge.status = "done"
    account.phone, account.phone_verified_at = challenge.phone, now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # another account confirmed the same number concurrently
        raise PhoneTaken() from exc


def _wrong_code(session: Session, challenge: PhoneChallenge, now: dt.datetime) -> NoReturn:
    counted = count_wrong_code(
        session, challenge, max_tries=rules.PHONE_MAX_TRIES, lock_until=now + rules.PHONE_LOCK
    )
    if counted is None:  # a parallel guess used up the tries (or the code) meanwhile
        _check_not_locked(session, challenge.account_id, now)
        raise NoCodePending()
    if counted >= rules.PHONE_MAX_TRIES:
        locked = challenge.locked_until
        raise PhoneLocked(locked_until=locked.isoformat() if locked else "")
    raise WrongCode(tries_left=rules.PHONE_MAX_TRIES - counted)
