"""Wrong one-time codes sent at once are each counted (identity.service_codes): a brute force
in parallel is bounded as tightly as one in series."""

from __future__ import annotations

import threading

from sqlalchemy import select

from prakerja.identity import errors, service
from prakerja.identity.model import LoginChallenge, PhoneChallenge

from .conftest import NOW, PASSWORD, code_in, last_message, make_citizen

AT_ONCE = 12
EMAIL, PHONE = "tebak@example.id", "081234500099"


def _attempt(db, fn, **kwargs):
    """As an entrypoint runs a call: commit, or commit a counted refusal and re-raise."""
    with db.transaction() as s:
        try:
            return fn(s, **kwargs)
        except errors.CountedRefusal:
            s.commit()
            raise


def _at_once(call) -> list[str]:
    barrier, outcomes = threading.Barrier(AT_ONCE), []

    def run():
        barrier.wait()
        try:
            call()
            outcomes.append("ok")
        except errors.DomainError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # a lost update or a deadlock must fail the test
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run) for _ in range(AT_ONCE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_login_codes_guessed_at_once_kill_the_challenge_after_five(db):
    with db.transaction() as s:
        make_citizen(s, EMAIL)
    challenge = _attempt(
        db, service.start_login, email=EMAIL, password=PASSWORD, ip="10.0.0.9", now=NOW
    )
    with db.transaction() as s:
        right = code_in(last_message(s, EMAIL))
    outcomes = _at_once(
        lambda: _attempt(
            db, service.complete_login, challenge_id=challenge, code=_wrong(right), now=NOW
        )
    )
    assert outcomes.count("wrong_code") <= 4, outcomes
    assert set(outcomes) <= {"wrong_code", "code_expired"}, outcomes
    with db.transaction() as s:
        row = s.scalars(select(LoginChallenge)).one()
        assert (row.attempts, row.status) == (5, "dead")


def test_phone_codes_guessed_at_once_lock_confirmation_after_three(db):
    with db.transaction() as s:
        account_id = make_citizen(s, EMAIL).id
    _attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW)
    with db.transaction() as s:
        right = code_in(last_message(s, s.scalars(select(PhoneChallenge)).one().phone))
    outcomes = _at_once(
        lambda: _attempt(
            db, service.confirm_phone, account_id=account_id, code=_wrong(right), now=NOW
        )
    )
    assert outcomes.count("wrong_code") <= 2, outcomes
    assert set(outcomes) <= {"wrong_code", "phone_locked"}, outcomes
    with db.transaction() as s:
        row = s.scalars(select(PhoneChallenge)).one()
        assert (row.attempts, row.status) == (3, "dead")
        assert row.locked_until is not None
