"""Wrong one-time codes and passwords sent at once are each counted (identity.service_codes,
the account's lock in identity.service_login): a brute force in parallel is bounded as tightly
as one in series."""

from __future__ import annotations

import re

from sqlalchemy import select

from prakerja.identity import rules, service
from prakerja.identity.model import (
    Account,
    LoginChallenge,
    LoginFailure,
    PhoneChallenge,
    WebSession,
)
from prakerja.kit.notify import Notification
from tests.burst import at_once

from .conftest import NOW, PASSWORD, attempt, code_in, last_message, make_citizen

AT_ONCE = 12
EMAIL, PHONE = "tebak@example.id", "081234500099"


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _login_code_sender(db, *, wrong: bool):  # type: ignore[no-untyped-def]
    """A citizen with a fresh login challenge, and a call sending its code (or a wrong one)."""
    with db.transaction() as s:
        make_citizen(s, EMAIL)
    challenge = attempt(
        db, service.start_login, email=EMAIL, password=PASSWORD, ip="10.0.0.9", now=NOW
    )
    with db.transaction() as s:
        code = code_in(last_message(s, EMAIL))
    code = _wrong(code) if wrong else code
    return lambda: attempt(db, service.complete_login, challenge_id=challenge, code=code, now=NOW)


def test_login_codes_guessed_at_once_kill_the_challenge_after_five(db):
    outcomes = at_once([_login_code_sender(db, wrong=True)] * AT_ONCE)
    assert outcomes.count("wrong_code") <= 4, outcomes
    assert set(outcomes) <= {"wrong_code", "code_expired"}, outcomes
    with db.transaction() as s:
        row = s.scalars(select(LoginChallenge)).one()
        assert (row.attempts, row.status) == (5, "dead")


def test_the_right_login_code_sent_twice_at_once_opens_one_session(db):
    outcomes = at_once([_login_code_sender(db, wrong=False)] * 4)
    assert sorted(outcomes) == ["code_expired"] * 3 + ["ok"], outcomes
    with db.transaction() as s:
        assert len(s.scalars(select(WebSession)).all()) == 1


def test_passwords_guessed_at_once_stop_at_the_accounts_limit(db):
    with db.transaction() as s:
        make_citizen(s, EMAIL)
    limit = rules.FAILURES_PER_EMAIL
    guess = lambda: attempt(  # noqa: E731
        db, service.start_login, email=EMAIL, password="salah-tebak-1", ip="10.0.0.9", now=NOW
    )
    outcomes = at_once([guess] * (limit + 6))
    assert outcomes.count("invalid_credentials") == limit, outcomes
    assert outcomes.count("too_many_attempts") == 6, outcomes
    with db.transaction() as s:
        assert len(s.scalars(select(LoginFailure)).all()) == limit
    # the right password is refused too until the window has passed
    outcomes = at_once(
        [
            lambda: attempt(
                db, service.start_login, email=EMAIL, password=PASSWORD, ip="10.0.0.9", now=NOW
            )
        ]
    )
    assert outcomes == ["too_many_attempts"]


def test_code_resends_asked_at_once_stop_at_five_then_lock(db):
    with db.transaction() as s:
        make_citizen(s, EMAIL)
    challenge = attempt(
        db, service.start_login, email=EMAIL, password=PASSWORD, ip="10.0.0.9", now=NOW
    )
    resend = lambda: attempt(  # noqa: E731
        db, service.resend_login_code, challenge_id=challenge, now=NOW
    )
    outcomes = at_once([resend] * AT_ONCE)
    assert outcomes.count("ok") == rules.RESEND_MAX, outcomes
    assert set(outcomes) <= {"ok", "login_locked", "code_expired"}, outcomes
    with db.transaction() as s:
        codes = s.scalars(select(Notification).where(Notification.recipient == EMAIL)).all()
        sent = [n for n in codes if re.search(r"\b\d{6}\b", n.body)]
        assert len(sent) == 1 + rules.RESEND_MAX, [n.body for n in sent]
        account = s.scalars(select(Account).where(Account.email == EMAIL)).one()
        assert account.locked_until is not None
        assert s.scalars(select(LoginChallenge)).one().status == "dead"


def test_phone_codes_asked_at_once_stop_at_the_hourly_limit(db):
    with db.transaction() as s:
        account_id = make_citizen(s, EMAIL).id
    ask = lambda: attempt(  # noqa: E731
        db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW
    )
    outcomes = at_once([ask] * AT_ONCE)
    assert outcomes.count("ok") == rules.PHONE_SENDS_PER_HOUR, outcomes
    assert set(outcomes) <= {"ok", "phone_locked"}, outcomes
    with db.transaction() as s:
        assert len(s.scalars(select(PhoneChallenge)).all()) == rules.PHONE_SENDS_PER_HOUR
        assert (
            len(s.scalars(select(PhoneChallenge).where(PhoneChallenge.status == "open")).all()) == 1
        )


def test_phone_codes_guessed_at_once_lock_confirmation_after_three(db):
    with db.transaction() as s:
        account_id = make_citizen(s, EMAIL).id
    attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW)
    with db.transaction() as s:
        code = _wrong(code_in(last_message(s, s.scalars(select(PhoneChallenge)).one().phone)))
    guess = lambda: attempt(  # noqa: E731
        db, service.confirm_phone, account_id=account_id, code=code, now=NOW
    )
    outcomes = at_once([guess] * AT_ONCE)
    assert outcomes.count("wrong_code") <= 2, outcomes
    assert set(outcomes) <= {"wrong_code", "phone_locked"}, outcomes
    with db.transaction() as s:
        row = s.scalars(select(PhoneChallenge)).one()
        assert (row.attempts, row.status) == (3, "dead")
        assert row.locked_until is not None
