"""The audit chain detects any edit, deletion or reordering and names the first broken row."""

import datetime as dt

from sqlalchemy import delete, update

from prakerja.kit import audit
from prakerja.kit.audit import AuditEntry
from tests.tamper import guards_lifted

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


def _chain(session, n=5):
    for i in range(n):
        audit.record(
            session,
            actor="op:1",
            action="wave.publish",
            target=f"wave:{i}",
            data={"i": i},
            now=NOW + dt.timedelta(seconds=i),
        )
    session.commit()


def test_an_untouched_chain_verifies(session):
    _chain(session)
    report = audit.verify(session)
    assert report.ok
    assert report.checked == 5


def test_an_edited_row_is_named(session):
    _chain(session)
    with guards_lifted(session, "audit_log"):
        session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(data={"i": 99}))
    session.commit()
    report = audit.verify(session)
    assert not report.ok
    assert report.first_broken_id == 3


def test_a_deleted_row_breaks_the_next_link(session):
    _chain(session)
    with guards_lifted(session, "audit_log"):
        session.execute(delete(AuditEntry).where(AuditEntry.id == 2))
    session.commit()
    report = audit.verify(session)
    assert (report.ok, report.first_broken_id) == (False, 3)


def test_a_chain_rebuilt_without_the_secret_fails(session):
    _chain(session, 2)
    assert not audit.verify(session, secret="another-secret").ok


def test_deleting_the_newest_rows_is_caught_by_an_anchor_kept_elsewhere(session):
    _chain(session)
    head = audit.verify(session)
    assert (head.head_id, head.checked) == (5, 5)
    assert head.head_hash is not None
    with guards_lifted(session, "audit_log"):
        session.execute(delete(AuditEntry).where(AuditEntry.id >= 4))
    session.commit()
    assert audit.verify(session).ok  # a cut tail still links up: the reason for anchors
    cut = audit.verify(session, anchor=(head.head_id, head.head_hash))
    assert (cut.ok, cut.first_broken_id) == (False, 5)
    assert "gone" in cut.reason
    earlier = audit.verify(session, anchor=(3, audit.verify(session).head_hash or ""))
    assert earlier.ok


def test_an_anchor_whose_row_was_replaced_fails(session):
    _chain(session, 3)
    assert not audit.verify(session, anchor=(2, "f" * 64)).ok


def test_the_cli_exits_1_naming_the_broken_row_and_0_on_a_sound_chain(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from prakerja.kit import migrate
    from prakerja.kit.db import Database

    url = f"sqlite:///{tmp_path}/audit.db"
    migrate.upgrade(url)
    db = Database(url)
    with db.transaction() as s:
        _chain(s, 4)
    env = {**os.environ, "PRAKERJA_DATABASE_URL": url, "PRAKERJA_VAR_DIR": str(tmp_path)}

    def run(*args: str) -> tuple[int, dict]:
        done = subprocess.run(
            [sys.executable, "-m", "prakerja.cli", "audit", "verify", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout) if done.stdout else {}

    code, sound = run()
    assert (code, sound["ok"], sound["checked"], sound["head_id"]) == (0, True, 4, 4)
    with db.transaction() as s, guards_lifted(s, "audit_log"):
        s.execute(update(AuditEntry).where(AuditEntry.id == 2).values(actor="op:2"))
    code, broken = run()
    assert (code, broken["ok"], broken["first_broken_id"]) == (1, False, 2)
    assert broken["reason"] == "row content does not match its hash"
    code, _ = run("--anchor", "nonsense")
    assert code == 2
    db.dispose()


def test_the_database_refuses_to_edit_or_delete_an_entry(session):
    """Append-only in the database itself (migration 0002): the chain is a second line."""
    import pytest
    from sqlalchemy import select, text
    from sqlalchemy.exc import DBAPIError

    _chain(session, 3)
    before = session.execute(select(AuditEntry.id, AuditEntry.hash)).all()
    for statement in (
        update(AuditEntry).where(AuditEntry.id == 2).values(actor="op:2"),
        delete(AuditEntry).where(AuditEntry.id == 3),
        text("DELETE FROM audit_log"),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
        session.rollback()
        assert session.execute(select(AuditEntry.id, AuditEntry.hash)).all() == before
    assert audit.verify(session).ok
