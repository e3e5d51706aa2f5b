"""append-only ledger and audit log, enforced by the database

The ledger's entries and the audit log were append-only by convention: nothing in the code
changes them, but nothing stopped a bug, a console session or a hand-run script either. These
triggers refuse, on SQLite and on PostgreSQL alike:

- any UPDATE or DELETE of `ledger_entry` and `audit_log` rows;
- any DELETE of `ledger_transfer` rows, and any UPDATE of one except the single settlement a
  hold is allowed (`pending` -> `posted` or `voided`, stamping `settled_at`), which must leave
  every other column as it was.

A correction is a reversing transfer; an audit entry is never rewritten. TRUNCATE (PostgreSQL)
and DROP stay with the tables' owner: the application's role should not hold them
(docs/operations.md, "Checks").

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 13:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FROZEN = ("ledger_entry", "audit_log")

# The transfer columns a settlement may not touch.
TRANSFER_FIXED = (
    "id",
    "key",
    "payload_hash",
    "kind",
    "from_account_id",
    "to_account_id",
    "amount",
    "reverses_id",
    "meta",
    "created_at",
)

_PG_REFUSE = """
CREATE FUNCTION prakerja_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'a correction is a reversing transfer; audit entries are never rewritten';
END $$
"""

_PG_SETTLE_ONLY = """
CREATE FUNCTION prakerja_transfer_settle_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'pending' OR NEW.status NOT IN ('posted', 'voided')
       OR {changed} THEN
        RAISE EXCEPTION 'ledger_transfer is append-only: only a pending transfer may settle'
            USING HINT = 'a correction is a reversing transfer';
    END IF;
    RETURN NEW;
END $$
"""


def _changed(old: str, new: str) -> str:
    """SQL that is true when any fixed column differs (NULL-safe on both dialects)."""
    return " OR ".join(f"{new}.{c}::text IS DISTINCT FROM {old}.{c}::text" for c in TRANSFER_FIXED)


def _sqlite_changed() -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in TRANSFER_FIXED)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_REFUSE)
        op.execute(_PG_SETTLE_ONLY.format(changed=_changed("OLD", "NEW")))
        for table in FROZEN:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION prakerja_append_only()"
            )
        op.execute(
            "CREATE TRIGGER ledger_transfer_no_delete BEFORE DELETE ON ledger_transfer "
            "FOR EACH ROW EXECUTE FUNCTION prakerja_append_only()"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfer_settle_only BEFORE UPDATE ON ledger_transfer "
            "FOR EACH ROW EXECUTE FUNCTION prakerja_transfer_settle_only()"
        )
        return
    for table in FROZEN:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {event} refused'); END"
            )
    op.execute(
        "CREATE TRIGGER ledger_transfer_no_delete BEFORE DELETE ON ledger_transfer "
        "BEGIN SELECT RAISE(ABORT, 'ledger_transfer is append-only: DELETE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER ledger_transfer_settle_only BEFORE UPDATE ON ledger_transfer "
        "WHEN OLD.status <> 'pending' OR NEW.status NOT IN ('posted', 'voided') OR "
        f"{_sqlite_changed()} BEGIN SELECT RAISE(ABORT, "
        "'ledger_transfer is append-only: only a pending transfer may settle'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FROZEN:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfer_no_delete ON ledger_transfer")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfer_settle_only ON ledger_transfer")
        op.execute("DROP FUNCTION IF EXISTS prakerja_transfer_settle_only()")
        op.execute("DROP FUNCTION IF EXISTS prakerja_append_only()")
        return
    for table in FROZEN:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    op.execute("DROP TRIGGER IF EXISTS ledger_transfer_no_delete")
    op.execute("DROP TRIGGER IF EXISTS ledger_transfer_settle_only")
