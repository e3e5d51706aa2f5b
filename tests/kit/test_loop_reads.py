"""`Database.loop_reads` and `on_loop`: the event loop's own connection for the caller lookup.

On PostgreSQL one connection per Database, reused, in autocommit with a statement timeout,
never taken from a request's transaction; a second thread gets a pooled session instead; a
dropped connection is replaced; dispose closes it. On SQLite, an ordinary transaction."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from prakerja.kit.db import Database


def _pid(session) -> int:
    return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _backends(url: str) -> set[int]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        pids = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    engine.dispose()
    return set(pids)


@pytest.fixture
def pg(pg_url):
    database = Database(pg_url, pool_size=2)
    yield database
    database.dispose()


def test_one_connection_reused_in_autocommit_with_a_statement_timeout(pg):
    with pg.loop_reads() as s:
        first = _pid(s)
        assert s.execute(text("SHOW statement_timeout")).scalar_one() == "2s"
        s.execute(text("CREATE TEMP TABLE loop_probe (n int)"))
        s.execute(text("INSERT INTO loop_probe VALUES (1)"))
    with pg.loop_reads() as s:
        assert _pid(s) == first
        # autocommit: no transaction is left open between statements
        assert s.execute(text("SELECT count(*) FROM loop_probe")).scalar_one() == 1
        in_tx = s.execute(text("SELECT now() = statement_timestamp()")).scalar_one()
        assert in_tx is True
    # a request's session never gets that connection, nor its settings
    with pg.transaction() as s:
        assert _pid(s) != first
        assert s.execute(text("SHOW statement_timeout")).scalar_one() == "0"


def test_a_second_thread_takes_a_pooled_session(pg):
    seen: dict[str, int] = {}
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait(5)
        with pg.loop_reads() as s:
            seen["other"] = _pid(s)
            seen["other_timeout"] = s.execute(text("SHOW statement_timeout")).scalar_one()
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with pg.loop_reads() as s:
        seen["loop"] = _pid(s)
        inside.set()
        assert done.wait(10), "the second thread waited for the loop's connection"
    thread.join()
    assert seen["other"] != seen["loop"]
    assert seen["other_timeout"] == "0"


def test_a_dropped_connection_is_replaced(pg, pg_url):
    with pg.loop_reads() as s:
        first = _pid(s)
    with pg.transaction() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    with pytest.raises(DBAPIError), pg.loop_reads() as s:
        _pid(s)
    with pg.loop_reads() as s:
        second = _pid(s)
    assert second != first
    pg.dispose()
    # a closed connection's backend leaves pg_stat_activity a moment after the client hangs up
    deadline = time.monotonic() + 5
    while second in _backends(pg_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert second not in _backends(pg_url)


def test_a_long_statement_is_cut_off(pg):
    with pytest.raises(DBAPIError, match="statement timeout"), pg.loop_reads() as s:
        s.execute(text("SELECT pg_sleep(3)"))
    with pg.loop_reads() as s:  # still usable afterwards
        assert s.execute(text("SELECT 1")).scalar_one() == 1


def test_sqlite_takes_an_ordinary_transaction_that_commits(sqlite_db):
    with sqlite_db.loop_reads() as s:
        s.execute(text("CREATE TABLE loop_probe (n int)"))
        s.execute(text("INSERT INTO loop_probe VALUES (7)"))
    with sqlite_db.transaction() as s:
        assert s.execute(text("SELECT n FROM loop_probe")).scalar_one() == 7


def test_on_loop_makes_the_read_again_on_a_new_connection_after_a_drop(pg):
    """After a server restart the first signed-in request must not fail: `on_loop` reads
    again once on a new connection (what the pool's pre-ping does for pooled sessions)."""
    first = pg.on_loop(_pid)
    with pg.transaction() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    calls: list[int] = []

    def read(session) -> int:
        calls.append(1)
        return _pid(session)

    second = pg.on_loop(read)
    assert second != first
    assert len(calls) == 2
    assert pg.on_loop(_pid) == second  # and kept


def test_on_loop_does_not_repeat_other_errors(pg):
    calls: list[int] = []

    def read(session) -> None:
        calls.append(1)
        session.execute(text("SELECT 1/0"))

    with pytest.raises(DBAPIError, match="division by zero"):
        pg.on_loop(read)
    assert len(calls) == 1
