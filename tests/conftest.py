"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is built by the migrations (never create_all): once per test session for PostgreSQL
(one database per xdist worker, emptied after each test) and once as a template file for SQLite
(copied for each test).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

os.environ.setdefault("PRAKERJA_ENVIRONMENT", "test")
os.environ.setdefault("PRAKERJA_DEV_INBOX", "1")

from prakerja.contexts import import_all
from prakerja.kit import migrate
from prakerja.kit.db import Database
from prakerja.settings import get_settings

import_all("jobs")

pytest_plugins = ["tests.fixtures_sim"]


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Per-process copies keyed by database ids (kit.kept: the public wave figures) must not
    outlive the test whose database made them: the next test's database reuses the ids."""
    from prakerja.kit import kept

    kept.forget_all()
    yield
    kept.forget_all()


SHARED = Path(__file__).resolve().parents[2] / "shared"
PG_URL = os.environ.get("PRAKERJA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this xdist worker (skips locally if none; fails in CI)."""
    name = f"prakerja_test_{os.getpid()}"
    try:
        admin = create_engine(
            PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    yield url
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_pg(db: Database) -> None:
    with db.engine.begin() as conn:
        names = conn.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).all()
        if names:
            quoted = ", ".join(f'"{n}"' for n in names)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
    else:
        database = Database(request.getfixturevalue("pg_url"), pool_size=5)
        yield database
        _empty_pg(database)
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests that are about logic rather than the backend."""
    path = tmp_path / "test.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session on the test database; tests commit when they need to."""
    s = db.sessions()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def app(db: Database):  # type: ignore[no-untyped-def]
    from prakerja.app import create_app

    return create_app(get_settings(), db)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def shared_dir() -> Path:
    """../shared (population, sentiment text, ISO 20022 schemas), read by path, never copied."""
    return SHARED
