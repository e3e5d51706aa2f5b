"""The PostgreSQL server the benches make their scratch databases on, and its admin statements.

One place for what every bench did with a copy of its own. PRAKERJA_BENCH_PG_URL (or the older
PRAKERJA_BENCH_PG) names the maintenance database; the default is the local server.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

ADMIN_URL = os.environ.get(
    "PRAKERJA_BENCH_PG_URL",
    os.environ.get("PRAKERJA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
).replace("postgresql+psycopg://", "postgresql://")


def url_of(name: str) -> str:
    """The URL of database `name` on the bench server (plain `postgresql://`)."""
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def admin(sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on the maintenance database, in autocommit."""
    engine = create_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def recreate(name: str) -> None:
    """Database `name`, empty: dropped first if a run left it behind."""
    drop(name)
    admin(f'CREATE DATABASE "{name}"')


def drop(name: str) -> None:
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def analyze_unless_autovacuum(url: str) -> bool:
    """Fresh planner statistics for database `url` after a bench seeded it, when the server's
    autovacuum is off (as on some test machines) and would not gather them as a live server's
    does. True when it analyzed."""
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        off = conn.execute(text("SHOW autovacuum")).scalar() == "off"
        if off:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return off
