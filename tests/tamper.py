"""Corrupt append-only tables on purpose, as someone with the owner's rights could.

The ledger's entries and transfers and the audit log refuse UPDATE and DELETE by trigger
(migration 0002). Tests of the checks that must still catch such an edit (`wallet check`,
`audit verify`) lift the triggers for one block first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from prakerja.kit.db import is_postgres


@contextmanager
def guards_lifted(session: Session, *tables: str) -> Iterator[None]:
    """Within the block, `tables`' append-only triggers do not fire (this transaction only on
    PostgreSQL, where the setting ends at commit or rollback; on SQLite the triggers are dropped
    and created again on the way out)."""
    if is_postgres(session):
        # replica mode skips ordinary triggers, the append-only ones among them
        session.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        return
    query = text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN :t")
    rows = session.execute(query.bindparams(bindparam("t", expanding=True)), {"t": tables}).all()
    assert rows, f"no append-only trigger on {tables}"
    for name, _ in rows:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    try:
        yield
    finally:
        for _, sql in rows:
            session.execute(text(sql))
