"""Phone confirmation by SMS code."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from prakerja.identity import errors, rules, service
from prakerja.identity.model import Account
from prakerja.kit.notify import Notification

from .conftest import NOW, code_in, last_message, make_citizen
from .conftest import attempt as _attempt

PHONE = "+6281234567890"


@pytest.fixture
def account_id(db):
    with db.transaction() as s:
        return make_citizen(s).id


def _sms_code(db):
    with db.transaction() as s:
        note = last_message(s, PHONE)
        assert note.channel == "sms"
        return code_in(note)


def test_a_local_number_is_normalised_texted_and_confirmed(db, account_id):
    _attempt(
        db, service.start_phone_verification, account_id=account_id, phone="0812-3456-7890", now=NOW
    )
    _attempt(db, service.confirm_phone, account_id=account_id, code=_sms_code(db), now=NOW)
    with db.transaction() as s:
        account = s.get(Account, account_id)
        assert account.phone == PHONE
        assert account.phone_verified_at == NOW


@pytest.mark.parametrize("phone", ["0212345678", "+6591234567", "hello"])
def test_non_indonesian_mobile_numbers_are_refused_and_nothing_is_sent(db, account_id, phone):
    with pytest.raises(errors.PhoneInvalid):
        _attempt(db, service.start_phone_verification, account_id=account_id, phone=phone, now=NOW)
    with db.transaction() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Notification).where(Notification.channel == "sms")
            )
            == 0
        )


def test_a_number_belongs_to_one_active_account(db, account_id):
    _attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW)
    _attempt(db, service.confirm_phone, account_id=account_id, code=_sms_code(db), now=NOW)
    with db.transaction() as s:
        other = make_citizen(s, "budi@example.id").id
    with pytest.raises(errors.PhoneTaken):
        _attempt(
            db, service.start_phone_verification, account_id=other, phone="6281234567890", now=NOW
        )
    with db.transaction() as s:  # once the first account is blocked the number is free again
        s.get(Account, account_id).status = "blocked"
    _attempt(db, service.start_phone_verification, account_id=other, phone=PHONE, now=NOW)


def test_three_wrong_codes_lock_phone_confirmation_for_an_hour(db, account_id):
    _attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW)
    right = _sms_code(db)
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(2):
        with pytest.raises(errors.WrongCode):
            _attempt(db, service.confirm_phone, account_id=account_id, code=wrong, now=NOW)
    with pytest.raises(errors.PhoneLocked):
        _attempt(db, service.confirm_phone, account_id=account_id, code=wrong, now=NOW)
    with pytest.raises(errors.PhoneLocked):  # the right code no longer helps
        _attempt(db, service.confirm_phone, account_id=account_id, code=right, now=NOW)
    with pytest.raises(errors.PhoneLocked):  # nor a new code within the hour
        _attempt(
            db,
            service.start_phone_verification,
            account_id=account_id,
            phone=PHONE,
            now=NOW + dt.timedelta(minutes=59),
        )
    later = NOW + rules.PHONE_LOCK + dt.timedelta(seconds=1)
    _attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=later)
    _attempt(db, service.confirm_phone, account_id=account_id, code=_sms_code(db), now=later)


def test_at_most_five_codes_an_hour(db, account_id):
    for i in range(rules.PHONE_SENDS_PER_HOUR):
        _attempt(
            db,
            service.start_phone_verification,
            account_id=account_id,
            phone=PHONE,
            now=NOW + dt.timedelta(minutes=i),
        )
    with pytest.raises(errors.PhoneLocked):
        _attempt(
            db,
            service.start_phone_verification,
            account_id=account_id,
            phone=PHONE,
            now=NOW + dt.timedelta(minutes=10),
        )
    _attempt(
        db,
        service.start_phone_verification,
        account_id=account_id,
        phone=PHONE,
        now=NOW + dt.timedelta(minutes=61),
    )


def test_only_the_latest_code_counts(db, account_id):
    _attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW)
    first = _sms_code(db)
    _attempt(db, service.start_phone_verification, account_id=account_id, phone=PHONE, now=NOW)
    second = _sms_code(db)
    if first != second:
        with pytest.raises(errors.WrongCode):
            _attempt(db, service.confirm_phone, account_id=account_id, code=first, now=NOW)
    _attempt(db, service.confirm_phone, account_id=account_id, code=second, now=NOW)


def test_confirming_without_a_pending_code_is_a_clear_error(db, account_id):
    with pytest.raises(errors.NoCodePending):
        _attempt(db, service.confirm_phone, account_id=account_id, code="123456", now=NOW)
