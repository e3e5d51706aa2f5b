"""Sign-up, email confirmation, password reset, staff creation."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from prakerja.identity import errors, rules, service
from prakerja.identity.model import Account, WebSession
from prakerja.kit.notify import Notification
from tests.burst import at_once

from .conftest import NOW, PASSWORD, last_message, make_citizen, token_in


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_registration_emails_a_link_that_confirms_the_address(db):
    with db.transaction() as s:
        account = service.register_account(
            s, email="Siti@Example.ID", password=PASSWORD, language="en", now=NOW
        )
        assert account.email == "siti@example.id"
        assert account.email_verified_at is None
        note = last_message(s, "siti@example.id")
        assert note.subject == "Confirm your Prakerja email address"
        assert PASSWORD not in note.body
        token = token_in(note)
    with db.transaction() as s:
        service.verify_email(s, token=token, now=NOW + dt.timedelta(hours=47))
        assert s.get(Account, account.id).email_verified_at is not None


def test_the_link_expires_after_48_hours_and_cannot_be_forged(db):
    with db.transaction() as s:
        account = make_citizen(s, verified=False)
        token = token_in(last_message(s, account.email))
    with db.transaction() as s, pytest.raises(errors.InvalidLink):
        service.verify_email(s, token=token, now=NOW + dt.timedelta(hours=48, seconds=1))
    with db.transaction() as s, pytest.raises(errors.InvalidLink):
        service.verify_email(s, token=token[:-2] + "xx", now=NOW)


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("not-an-email", PASSWORD, errors.InvalidEmail),
        ("budi@example.id", "short", errors.WeakPassword),
        ("budi@example.id", "indonesia123", errors.WeakPassword),
    ],
)
def test_bad_sign_ups_are_refused_and_change_nothing(db, email, password, error):
    with db.transaction() as s, pytest.raises(error):
        service.register_account(s, email=email, password=password, language="id", now=NOW)
    with db.transaction() as s:
        assert _count(s, Account) == 0
        assert _count(s, Notification) == 0


def test_a_duplicate_email_is_a_conflict_with_a_clear_message(db):
    with db.transaction() as s:
        make_citizen(s, "siti@example.id")
    with db.transaction() as s, pytest.raises(errors.EmailTaken, match="already exists"):
        service.register_account(
            s, email="SITI@example.id", password=PASSWORD, language="id", now=NOW
        )


def test_password_reset_link_works_once_and_logs_out_everywhere(db):
    with db.transaction() as s:
        account = make_citizen(s)
        web = service.open_session(s, account_id=account.id, ip="10.0.0.1", now=NOW)
        service.request_password_reset(s, email="siti@example.id", now=NOW)
        token = token_in(last_message(s, account.email))
    with db.transaction() as s:
        service.reset_password(s, token=token, password="Teh-manis-dingin-9", now=NOW)
        assert service.account_for_token(s, token=web.token, now=NOW) is None
        assert s.scalar(select(WebSession.revoked_at)) is not None
    with db.transaction() as s, pytest.raises(errors.InvalidLink):
        service.reset_password(s, token=token, password="Another-one-2026x", now=NOW)


def test_one_reset_link_used_twice_at_once_sets_one_password(db):
    with db.transaction() as s:
        account = make_citizen(s)
        service.request_password_reset(s, email="siti@example.id", now=NOW)
        token = token_in(last_message(s, account.email))

    def use(password: str):
        def run() -> None:
            with db.transaction() as s:
                service.reset_password(s, token=token, password=password, now=NOW)

        return run

    outcomes = at_once([use("Teh-manis-dingin-9"), use("Kopi-susu-gula-aren-3")])
    assert sorted(outcomes) == ["invalid_link", "ok"], outcomes


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_nothing(db):
    with db.transaction() as s:
        assert service.request_password_reset(s, email="nobody@example.id", now=NOW) is None
        assert _count(s, Notification) == 0


def _resets_sent(session, to: str) -> int:
    return len(
        session.scalars(
            select(Notification).where(
                Notification.recipient == to, Notification.body.contains("password/reset")
            )
        ).all()
    )


def test_password_reset_links_are_capped_per_hour_and_the_answer_never_changes(db):
    with db.transaction() as s:
        make_citizen(s)
    asks = [NOW + dt.timedelta(minutes=m) for m in (0, 1, 2, 3, 59)]
    for at in asks:
        with db.transaction() as s:
            assert service.request_password_reset(s, email="siti@example.id", now=at) is None
    with db.transaction() as s:
        assert _resets_sent(s, "siti@example.id") == rules.RESETS_PER_HOUR
    with db.transaction() as s:  # an hour after the first, a new window
        service.request_password_reset(
            s, email="siti@example.id", now=NOW + dt.timedelta(hours=1, minutes=1)
        )
    with db.transaction() as s:
        assert _resets_sent(s, "siti@example.id") == rules.RESETS_PER_HOUR + 1


def test_password_resets_asked_at_once_send_no_more_than_the_cap(db):
    with db.transaction() as s:
        make_citizen(s)

    def ask() -> None:
        with db.transaction() as s:
            service.request_password_reset(s, email="siti@example.id", now=NOW)

    assert at_once([ask] * 12) == ["ok"] * 12
    with db.transaction() as s:
        assert _resets_sent(s, "siti@example.id") == rules.RESETS_PER_HOUR


def test_staff_are_created_with_roles_and_an_encrypted_totp_secret(db):
    with db.transaction() as s:
        staff, uri = service.create_staff(
            s,
            email="ops@example.id",
            password="Rahasia-kantor-77",
            roles=["operator", "finance"],
            now=NOW,
        )
        assert uri.startswith("otpauth://totp/Prakerja:ops%40example.id?secret=")
        assert staff.kind == "staff"
        assert staff.role_list == ["operator", "finance"]
        assert staff.has_role("finance")
        assert not staff.has_role("auditor")
        assert staff.totp_secret_enc
        assert uri.split("secret=")[1][:32].encode() not in staff.totp_secret_enc
    with db.transaction() as s, pytest.raises(errors.InvalidRoles):
        service.create_staff(
            s, email="x@example.id", password="Rahasia-kantor-77", roles=["king"], now=NOW
        )
