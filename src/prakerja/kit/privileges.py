"""The application's PostgreSQL role: what the web and worker processes may do, and no more.

Migrations run as the schema's owner; the processes connect as a separate role that
`prakerja db grant ROLE` equips (run it as the owner after every `prakerja db upgrade`):

- read and write every table, except that `audit_log` and `ledger_entry` take INSERT and SELECT
  only, `ledger_transfer` INSERT, SELECT and UPDATE (a hold settles; the trigger of migration
  0002 allows nothing else), and `alembic_version` SELECT only;
- own `application` and its partitions: opening a wave creates its partition and a wave run
  rebuilds and swaps it (`selection.bulk`), DDL that only a table's owner may run. The owner
  role must be a member of the application role to hand the table over and to migrate it later.

Owning no other table, the application role cannot drop or disable the append-only triggers,
TRUNCATE the ledger or the audit log, or turn triggers off (`session_replication_role` needs a
superuser or `GRANT SET ON PARAMETER`, which this role must never be given: operations.md): a
hijacked process can add rows, never rewrite them.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# table -> the only privileges the application role keeps on it
LIMITED = {
    "audit_log": "SELECT, INSERT",
    "ledger_entry": "SELECT, INSERT",
    "ledger_transfer": "SELECT, INSERT, UPDATE",
    "alembic_version": "SELECT",
}
OWNED = "application"  # with its partitions


def _ident(conn: Connection, name: str) -> str:
    quoted = conn.execute(text("SELECT quote_ident(:n)"), {"n": name}).scalar_one()
    return str(quoted)


def statements(conn: Connection, role: str) -> list[str]:
    """The GRANT, REVOKE and OWNER statements that equip `role` (PostgreSQL only)."""
    if conn.dialect.name != "postgresql":
        raise ValueError("roles and grants are PostgreSQL's; SQLite has one user")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists.scalar() is None:
        raise ValueError(f"role {role!r} does not exist: CREATE ROLE {role} LOGIN first")
    who = _ident(conn, role)
    partitions = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t ORDER BY c.relname"
        ),
        {"t": OWNED},
    ).scalars()
    out = [
        f"GRANT USAGE, CREATE ON SCHEMA public TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, REFERENCES ON ALL TABLES IN SCHEMA public TO {who}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {who}",
    ]
    for table, allowed in LIMITED.items():
        out += [f"REVOKE ALL ON {table} FROM {who}", f"GRANT {allowed} ON {table} TO {who}"]
    out += [f"ALTER TABLE {_ident(conn, t)} OWNER TO {who}" for t in (OWNED, *partitions)]
    return out


def grant(conn: Connection, role: str) -> list[str]:
    """Run `statements(conn, role)` in the caller's transaction; returns them."""
    done = statements(conn, role)
    for sql in done:
        conn.execute(text(sql))
    return done
