"""The audit chain detects any edit, deletion or reordering and names the first broken row."""

import datetime as dt

from sqlalchemy import delete, update

from prakerja.kit import audit
from prakerja.kit.audit import AuditEntry

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
    session.execute(update(AuditEntry).where(AuditEntry.id == 3).values(data={"i": 99}))
    session.commit()
    report = audit.verify(session)
    assert not report.ok
    assert report.first_broken_id == 3


def test_a_deleted_row_breaks_the_next_link(session):
    _chain(session)
    session.execute(delete(AuditEntry).where(AuditEntry.id == 2))
    session.commit()
    report = audit.verify(session)
    assert (report.ok, report.first_broken_id) == (False, 3)


def test_a_chain_rebuilt_without_the_secret_fails(session):
    _chain(session, 2)
    assert not audit.verify(session, secret="another-secret").ok
