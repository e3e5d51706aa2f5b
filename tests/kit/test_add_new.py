"""kit.db.add_new: one INSERT ... RETURNING id, and the object behaves as if flushed."""

import datetime as dt

import pytest
from sqlalchemy import event, func, select

from prakerja.identity.model import Account
from prakerja.kit.db import ANY_UNIQUE, add_new

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def _account(email: str) -> Account:
    return Account(
        public_id=email.split("@")[0], email=email, password_hash="!", created_at=NOW
    )  # kind, roles, status, language, failed_logins: column defaults


def _statements(session):
    seen: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_new_object_is_written_with_its_defaults_and_belongs_to_the_session(session):
    account = _account("a@example.id")
    seen = _statements(session)
    assert add_new(session, account) is True
    assert len(seen) == 1
    assert seen[0].lstrip().upper().startswith("INSERT")
    assert account.id is not None
    assert account in session
    assert (account.kind, account.roles, account.status, account.language) == (
        "citizen",
        "",
        "active",
        "id",
    )
    assert account.failed_logins == 0
    assert account.phone is None
    assert len(seen) == 1  # every attribute is loaded: reading them asks nothing
    account.language = "en"  # a later change is an ordinary UPDATE of a persistent object
    session.flush()
    session.expire_all()
    stored = session.get(Account, account.id)
    assert (stored.email, stored.language, stored.kind) == ("a@example.id", "en", "citizen")


def test_a_collision_on_the_named_unique_column_writes_nothing_and_says_so(session):
    assert add_new(session, _account("same@example.id"), unless="email")
    twin = _account("same@example.id")
    twin.public_id = "other"
    assert add_new(session, twin, unless="email") is False
    assert twin not in session
    assert twin.id is None
    assert session.scalar(select(func.count()).select_from(Account)) == 1


def test_a_collision_on_another_unique_column_raises_as_a_flush_would(session):
    from sqlalchemy.exc import IntegrityError

    assert add_new(session, _account("one@example.id"))
    clash = _account("two@example.id")
    clash.public_id = "one"  # public_id is unique too, but not the column named
    with pytest.raises(IntegrityError), session.begin_nested():
        add_new(session, clash, unless="email")
    assert clash not in session
    assert session.scalar(select(func.count()).select_from(Account)) == 1


def test_any_unique_skips_a_collision_on_any_unique_column(session):
    assert add_new(session, _account("one@example.id"), unless=ANY_UNIQUE)
    by_email, by_public_id = _account("one@example.id"), _account("two@example.id")
    by_email.public_id, by_public_id.public_id = "fresh", "one"
    assert add_new(session, by_email, unless=ANY_UNIQUE) is False
    assert add_new(session, by_public_id, unless=ANY_UNIQUE) is False
    assert add_new(session, _account("three@example.id"), unless=ANY_UNIQUE) is True
    assert session.scalar(select(func.count()).select_from(Account)) == 2


def test_a_rolled_back_savepoint_takes_the_new_object_out_as_a_flush_would(session):
    """A refused step after the insert (the ledger's hold: row first, then the guarded UPDATE)
    rolls its savepoint back; the object must not stay in the session as a row that is gone."""
    kept = _account("kept@example.id")
    add_new(session, kept)
    gone = _account("gone@example.id")

    def refused_after_the_insert():
        with session.begin_nested():
            add_new(session, gone)
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refused_after_the_insert()
    assert gone not in session
    assert kept in session
    assert session.scalar(select(func.count()).select_from(Account)) == 1
    again = _account("gone@example.id")  # the same key and, on SQLite, maybe the same rowid
    assert add_new(session, again)
    assert again in session
