"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL.

An empty database is upgraded to head through `prakerja.kit.migrate.config` (what `prakerja
migrate` and the test fixtures use); alembic's `compare_metadata` then diffs the live schema
against `Base.metadata` with every model imported. Any difference (a model changed without
`make schema`, a hand edit of the migration) is listed in the failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool, text

import prakerja.models  # noqa: F401 (registers every table on Base.metadata)
from prakerja.kit import migrate
from prakerja.kit.db import Base, make_engine
from tests.conftest import IN_CI, PG_URL


def _admin_url() -> str:
    return PG_URL.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (skipped locally when none runs; fails in CI)."""
    name = f"prakerja_migrations_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def upgrade_and_diff(url: str) -> list[Any]:
    """Upgrade `url` to head with the package's Alembic config; the schema differences left."""
    command.upgrade(migrate.config(url), "head")
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert context.get_current_revision() is not None
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "backend", ["empty_sqlite", pytest.param("empty_postgres", marks=pytest.mark.postgres)]
)
def test_an_empty_database_upgraded_to_head_matches_the_models(request, backend):
    url = request.getfixturevalue(backend)
    assert upgrade_and_diff(url) == []
    assert _tables(url) == set(Base.metadata.tables)


def test_the_drift_check_notices_a_model_the_migrations_do_not_build(empty_sqlite):
    """The comparison is live: a table only the models know is reported as drift."""
    from sqlalchemy import Column, Integer, Table

    extra = Table(f"drift_probe_{uuid.uuid4().hex[:6]}", Base.metadata,
                  Column("id", Integer, primary_key=True))  # fmt: skip
    try:
        diff = upgrade_and_diff(empty_sqlite)
    finally:
        Base.metadata.remove(extra)
    assert [d[0] for d in diff] == ["add_table"]
    assert diff[0][1].name == extra.name


@pytest.mark.parametrize(
    "backend", ["empty_sqlite", pytest.param("empty_postgres", marks=pytest.mark.postgres)]
)
def test_a_queued_upload_keeps_its_file_across_0003_both_ways(request, backend):
    """0003 moves a still-queued upload's `content` into its one part; downgrading puts the
    parts back together."""
    url = request.getfixturevalue(backend)
    file = b"nik,reason\n" + bytes(range(256))  # any bytes survive, NUL included
    command.upgrade(migrate.config(url), "0002")
    engine = make_engine(url, poolclass=pool.NullPool)
    row = (
        "INSERT INTO list_upload (kind, source, file_name, content, status, requested_by, "
        "requested_at) VALUES ('exclusion', 'BKN', 'a.csv', :c, 'queued', 'op', :at)"
    )
    try:
        with engine.begin() as conn:
            conn.execute(text(row), {"c": file, "at": "2026-11-29 12:00:00+00"})
            conn.execute(text(row), {"c": b"", "at": "2026-11-29 12:00:00+00"})  # a done one
        command.upgrade(migrate.config(url), "head")
        with engine.connect() as conn:
            parts = conn.execute(text("SELECT upload_id, seq, data FROM list_upload_part"))
            assert [(s, bytes(d)) for _, s, d in parts] == [(0, file)]
            assert "content" not in {c["name"] for c in inspect(conn).get_columns("list_upload")}
        with engine.begin() as conn:  # a second part, as a new upload would have
            conn.execute(text("INSERT INTO list_upload_part VALUES (1, 1, :d)"), {"d": b"tail"})
        command.downgrade(migrate.config(url), "0002")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT content FROM list_upload ORDER BY id")).scalars()
            assert [bytes(c) for c in kept] == [file + b"tail", b""]
    finally:
        engine.dispose()
