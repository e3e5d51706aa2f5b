"""Citizen login with an emailed code, its limits, web sessions; staff login with TOTP."""

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from prakerja.identity import errors, rules, service, vault
from prakerja.identity.model import Account, LoginChallenge, WebSession
from tests.burst import at_once

from .conftest import NOW, PASSWORD, code_in, last_message, make_citizen
from .conftest import attempt as _attempt

EMAIL = "siti@example.id"


def _start(db, now=NOW, ip="10.0.0.1", password=PASSWORD, email=EMAIL):
    return _attempt(db, service.start_login, email=email, password=password, ip=ip, now=now)


def _code(db):
    with db.transaction() as s:
        return code_in(last_message(s, EMAIL))


@pytest.fixture
def citizen(db):
    with db.transaction() as s:
        return make_citizen(s, EMAIL).id


def test_password_then_emailed_code_opens_a_session(db, citizen):
    challenge = _start(db)
    web = _attempt(db, service.complete_login, challenge_id=challenge, code=_code(db), now=NOW)
    assert web.token
    assert web.account_id == citizen
    with db.transaction() as s:
        assert service.account_for_token(s, token=web.token, now=NOW).id == citizen
        assert s.scalar(select(LoginChallenge.code_hash)) != _code(db)  # stored hashed
    with pytest.raises(errors.CodeExpired):  # a code works once
        _attempt(db, service.complete_login, challenge_id=challenge, code=_code(db), now=NOW)


def test_sessions_expire_after_12_idle_hours_and_on_logout(db, citizen):
    challenge = _start(db)
    web = _attempt(db, service.complete_login, challenge_id=challenge, code=_code(db), now=NOW)
    with db.transaction() as s:
        later = NOW + dt.timedelta(hours=11)
        assert service.account_for_token(s, token=web.token, now=later) is not None
        assert (
            service.account_for_token(
                s, token=web.token, now=later + rules.SESSION_IDLE - dt.timedelta(minutes=1)
            )
            is not None
        )
        service.logout(s, token=web.token, now=later)
        assert service.account_for_token(s, token=web.token, now=later) is None
    with db.transaction() as s:
        assert service.account_for_token(s, token="forged", now=NOW) is None


def test_codes_expire_after_ten_minutes(db, citizen):
    challenge = _start(db)
    with pytest.raises(errors.CodeExpired):
        _attempt(
            db,
            service.complete_login,
            challenge_id=challenge,
            code=_code(db),
            now=NOW + rules.CODE_TTL,
        )


def test_five_wrong_codes_kill_the_challenge(db, citizen):
    challenge = _start(db)
    right = _code(db)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(4):
        with pytest.raises(errors.WrongCode):
            _attempt(db, service.complete_login, challenge_id=challenge, code=wrong, now=NOW)
    with pytest.raises(errors.CodeExpired):
        _attempt(db, service.complete_login, challenge_id=challenge, code=wrong, now=NOW)
    with pytest.raises(errors.CodeExpired):
        _attempt(db, service.complete_login, challenge_id=challenge, code=right, now=NOW)


def _wrong(db):
    return f"{(int(_code(db)) + 1) % 1_000_000:06d}"


def test_a_resend_keeps_the_wrong_codes_already_tried(db, citizen):
    challenge = _start(db)
    for _ in range(3):
        with pytest.raises(errors.WrongCode):
            _attempt(db, service.complete_login, challenge_id=challenge, code=_wrong(db), now=NOW)
    _attempt(db, service.resend_login_code, challenge_id=challenge, now=NOW)
    with pytest.raises(errors.WrongCode) as left:
        _attempt(db, service.complete_login, challenge_id=challenge, code=_wrong(db), now=NOW)
    assert left.value.extra["tries_left"] == 1
    with pytest.raises(errors.CodeExpired):
        _attempt(db, service.complete_login, challenge_id=challenge, code=_wrong(db), now=NOW)


def test_wrong_codes_over_fresh_challenges_lock_login_for_two_hours(db, citizen):
    """Knowing the password must not buy unlimited guesses: each fresh challenge gives five,
    but ten wrong codes within two hours lock the login whatever the challenge."""
    minute = dt.timedelta(minutes=20)  # past the 15-minute failure window each round
    tried = 0
    for round_ in range(rules.CODE_WRONG_MAX // rules.CODE_MAX_TRIES):
        now = NOW + round_ * minute
        challenge = _start(db, now=now)
        for i in range(rules.CODE_MAX_TRIES):
            tried += 1
            last = tried == rules.CODE_WRONG_MAX
            expected = (
                errors.LoginLocked if last
                else errors.CodeExpired if i == rules.CODE_MAX_TRIES - 1
                else errors.WrongCode
            )  # fmt: skip
            with pytest.raises(expected):
                _attempt(
                    db, service.complete_login, challenge_id=challenge, code=_wrong(db), now=now
                )
    later = NOW + rules.CODE_WRONG_MAX // rules.CODE_MAX_TRIES * minute
    with pytest.raises(errors.LoginLocked):  # the right password, a new address, no matter
        _start(db, now=later, ip="10.7.7.7")
    unlocked = NOW + minute + rules.RESEND_LOCK + dt.timedelta(seconds=1)
    challenge = _start(db, now=unlocked)
    assert _attempt(
        db, service.complete_login, challenge_id=challenge, code=_code(db), now=unlocked
    )


def test_wrong_codes_count_against_the_address_like_wrong_passwords(db, citizen):
    challenge = _start(db, ip="198.51.100.9")
    for _ in range(rules.CODE_MAX_TRIES):
        with pytest.raises((errors.WrongCode, errors.CodeExpired)):
            _attempt(db, service.complete_login, challenge_id=challenge, code=_wrong(db), now=NOW)
    for i in range(rules.FAILURES_PER_IP - rules.CODE_MAX_TRIES):
        with pytest.raises(errors.InvalidCredentials):
            _start(db, email=f"guess{i}@example.id", ip="198.51.100.9")
    with pytest.raises(errors.TooManyAttempts):
        _start(db, ip="198.51.100.9")


def test_the_sixth_resend_locks_login_for_two_hours(db, citizen):
    challenge = _start(db)
    for _i in range(5):
        _attempt(db, service.resend_login_code, challenge_id=challenge, now=NOW)
        assert _code(db)  # each resend emails a code
    with db.transaction() as s:
        assert s.scalar(select(LoginChallenge.resends)) == 5
    with pytest.raises(errors.LoginLocked):
        _attempt(db, service.resend_login_code, challenge_id=challenge, now=NOW)
    with pytest.raises(errors.LoginLocked):  # even with the right password
        _start(db, now=NOW + dt.timedelta(hours=1, minutes=59))
    with pytest.raises(errors.CodeExpired):
        _attempt(db, service.complete_login, challenge_id=challenge, code=_code(db), now=NOW)
    later = NOW + dt.timedelta(hours=2, seconds=1)
    challenge = _start(db, now=later)
    assert _attempt(db, service.complete_login, challenge_id=challenge, code=_code(db), now=later)


def test_a_new_login_does_not_reset_the_resend_budget(db, citizen):
    for _ in range(5):
        challenge = _start(db)
        _attempt(db, service.resend_login_code, challenge_id=challenge, now=NOW)
    challenge = _start(db)
    with pytest.raises(errors.LoginLocked):
        _attempt(db, service.resend_login_code, challenge_id=challenge, now=NOW)


def test_wrong_password_and_unknown_email_get_the_same_answer(db, citizen):
    with pytest.raises(errors.InvalidCredentials) as wrong:
        _start(db, password="Not-the-password-1")
    with pytest.raises(errors.InvalidCredentials) as unknown:
        _start(db, email="nobody@example.id")
    assert wrong.value.title == unknown.value.title
    assert wrong.value.kind == "auth"


def test_ten_failures_for_one_email_within_15_minutes_are_rate_limited(db, citizen):
    for i in range(rules.FAILURES_PER_EMAIL):
        with pytest.raises(errors.InvalidCredentials):
            _start(db, password="wrong-password-x", ip=f"10.0.1.{i}")
    with pytest.raises(errors.TooManyAttempts):  # even the right password, from a new address
        _start(db, ip="10.9.9.9")
    assert _start(db, now=NOW + rules.FAILURE_WINDOW + dt.timedelta(seconds=1))


def test_one_address_failing_across_many_emails_is_rate_limited(db, citizen):
    for i in range(rules.FAILURES_PER_IP):
        with pytest.raises(errors.InvalidCredentials):
            _start(db, email=f"guess{i}@example.id", ip="203.0.113.7")
    with pytest.raises(errors.TooManyAttempts):
        _start(db, ip="203.0.113.7")
    assert _start(db, ip="203.0.113.8")  # others are not affected


def test_a_staff_account_cannot_use_the_citizen_login(db):
    with db.transaction() as s:
        service.create_staff(
            s, email="ops@example.id", password="Rahasia-kantor-77", roles=["admin"], now=NOW
        )
    with pytest.raises(errors.InvalidCredentials):
        _start(db, email="ops@example.id", password="Rahasia-kantor-77")


def _staff(db):
    with db.transaction() as s:
        staff, uri = service.create_staff(
            s, email="ops@example.id", password="Rahasia-kantor-77", roles=["operator"], now=NOW
        )
        return staff.id, pyotp.parse_uri(uri).secret


def _staff_login(db, code, now=NOW):
    return _attempt(
        db,
        service.staff_login,
        email="ops@example.id",
        password="Rahasia-kantor-77",
        totp_code=code,
        ip="10.0.0.2",
        now=now,
    )


def test_staff_log_in_with_password_and_a_fresh_totp_code_once(db):
    staff_id, secret = _staff(db)
    code = pyotp.TOTP(secret).at(NOW)
    assert _staff_login(db, code).account_id == staff_id
    with pytest.raises(errors.InvalidCredentials):  # replay of the same code
        _staff_login(db, code, NOW + dt.timedelta(seconds=5))
    later = NOW + dt.timedelta(seconds=30)
    assert _staff_login(db, pyotp.TOTP(secret).at(later), later)


def test_one_totp_code_sent_twice_at_once_opens_one_session(db):
    """The password step locks the account, so the second login reads the step the first
    one used and refuses the code: a code seen over a shoulder cannot race its owner in."""
    _, secret = _staff(db)
    code = pyotp.TOTP(secret).at(NOW)
    outcomes = at_once([lambda: _staff_login(db, code)] * 2)
    assert sorted(outcomes) == ["invalid_credentials", "ok"], outcomes
    with db.transaction() as s:
        assert len(s.scalars(select(WebSession)).all()) == 1


def test_a_wrong_totp_code_is_a_counted_failure(db):
    _, secret = _staff(db)
    valid = {pyotp.TOTP(secret).at(NOW + dt.timedelta(seconds=d)) for d in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)
    with pytest.raises(errors.InvalidCredentials):
        _staff_login(db, wrong)
    with db.transaction() as s:
        assert s.scalar(select(Account.failed_logins).where(Account.kind == "staff")) == 1
        assert vault.key_id(s.scalar(select(Account.totp_secret_enc)))
