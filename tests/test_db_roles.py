"""The application's own PostgreSQL role (`prakerja db grant ROLE`, docs/operations.md): logged
in as it, a whole wave runs (its partition created and rebuilt), cards are issued and the
ledger and the audit log are written; but it cannot rewrite those rows, drop or disable their
triggers, truncate them or switch triggers off."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from prakerja.cli import app as cli
from prakerja.contexts import import_all
from prakerja.kit import audit, jobs, migrate
from prakerja.kit.db import Database
from prakerja.selection import service, service_draw, service_screen
from prakerja.settings import get_settings
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model_card import Card
from tests.conftest import IN_CI, PG_URL
from tests.selection.wave_factories import NOW, add_person, open_committed

pytestmark = pytest.mark.postgres
ACTOR = "staff:test"


def _admin():  # type: ignore[no-untyped-def]
    url = PG_URL.replace("postgresql://", "postgresql+psycopg://")
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)


@pytest.fixture
def roles() -> Iterator[tuple[str, str, str]]:
    """(owner's URL, application role's URL, role), set up as docs/operations.md says: a
    database owned by a plain (not superuser) owner role, migrated by it, and the application's
    login role, of which the owner is a member, holding nothing yet."""
    suffix = uuid.uuid4().hex[:8]
    name, role, owner = (f"prakerja_{kind}_{suffix}" for kind in ("roles", "app", "owner"))
    try:
        admin = _admin()
        with admin.connect() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            conn.execute(text(f"CREATE ROLE {owner} LOGIN IN ROLE {role}"))
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER {owner}'))
    except Exception as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    host = PG_URL.rsplit("/", 1)[0].split("@", 1)[1]
    owner_url = f"postgresql://{owner}@{host}/{name}"
    try:
        migrate.upgrade(owner_url)
        yield owner_url, f"postgresql://{role}@{host}/{name}", role
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f"DROP ROLE IF EXISTS {owner}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _grant(owner_url: str, role: str, *extra: str):  # type: ignore[no-untyped-def]
    env = {**os.environ, "PRAKERJA_DATABASE_URL": owner_url}
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, ["db", "grant", role, *extra], env=env)
    finally:
        get_settings.cache_clear()


def _refused(db: Database, sql: str, match: str) -> None:
    with pytest.raises(DBAPIError, match=match), db.transaction() as s:
        s.execute(text(sql))


def test_the_application_role_runs_the_programme_but_only_adds_to_ledger_and_audit(
    roles: tuple[str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner_url, app_url, role = roles
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    import_all("jobs")
    app_db = Database(app_url)
    try:
        _refused(app_db, "SELECT count(*) FROM account", "permission denied")  # nothing yet
        printed = _grant(owner_url, role, "--print")
        assert printed.exit_code == 0, printed.output
        assert f"REVOKE ALL ON audit_log FROM {role};" in printed.stdout
        _refused(app_db, "SELECT count(*) FROM account", "permission denied")  # --print only
        granted = _grant(owner_url, role)
        assert granted.exit_code == 0, granted.output
        assert f"ALTER TABLE application OWNER TO {role};" in granted.stdout

        with app_db.transaction() as s:  # a wave: its partition is created by the app role
            wave = open_committed(s, places=3)
            people = [add_person(s, regency=c) for c in ["32.01"] * 4 + ["32.02"] * 2]
            for p in people:
                service.join_wave(
                    s, account_id=p.account_id, wave_id=wave.id, consent=True, now=NOW
                )
            wave_id = wave.id
        with app_db.transaction() as s:
            service.close_wave(s, wave_id=wave_id, actor=ACTOR, now=NOW)
        with app_db.transaction() as s:
            service_screen.screen(s, wave_id=wave_id, actor=ACTOR, now=NOW)
        with app_db.transaction() as s:  # rebuilds and swaps the wave's partition
            service_draw.run_draw(s, wave_id=wave_id, actor=ACTOR, now=NOW, workers=1)
        jobs.run_until_idle(app_db)  # issues the winners' cards: ledger transfers and entries
        with app_db.transaction() as s:
            winners = service.get_wave(s, wave_id).winners
            assert winners > 0
            assert len(s.scalars(select(Card)).all()) == winners
            assert check_ledger(s) == []
            assert audit.verify(s).ok

        for sql in (
            "UPDATE ledger_entry SET amount = amount + 1",
            "DELETE FROM ledger_entry",
            "DELETE FROM ledger_transfer",
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE ledger_entry",
            "TRUNCATE audit_log",
            "UPDATE alembic_version SET version_num = '0001'",
        ):
            _refused(app_db, sql, "permission denied")
        for sql in (
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "ALTER TABLE ledger_entry DISABLE TRIGGER USER",
            "ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_settle_only",
        ):
            _refused(app_db, sql, "must be owner")
        _refused(app_db, "SET session_replication_role = replica", "permission denied")
        # UPDATE on transfers is granted for settling; the trigger refuses anything else
        _refused(app_db, "UPDATE ledger_transfer SET amount = 1", "append-only")
        with app_db.transaction() as s:
            assert check_ledger(s) == []
            assert audit.verify(s).ok
    finally:
        app_db.dispose()


def test_grant_names_a_missing_role_and_refuses_sqlite(
    roles: tuple[str, str, str], tmp_path: Path
) -> None:
    owner_url, _app_url, _role = roles
    missing = _grant(owner_url, "no_such_role_" + uuid.uuid4().hex[:6])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    sqlite = _grant(f"sqlite:///{tmp_path / 'x.db'}", "anyone")
    assert sqlite.exit_code == 2
    assert "PostgreSQL" in sqlite.output
