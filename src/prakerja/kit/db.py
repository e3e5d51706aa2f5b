"""Engine, sessions and the declarative base. SQLite (WAL) embedded, PostgreSQL in production.

PostgreSQL-only strengths are wrapped here behind one function each, with a portable fallback:
`skip_locked` (job claiming) and `bulk_insert` (COPY vs executemany).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")
SelectT = TypeVar("SelectT", bound=Select[Any])

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger keeps 64-bit ids on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base for every context's tables."""

    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Any]) -> Table:
    """The Core table behind a mapped class (typed, for set-based INSERT statements)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


_INSERTS: dict[tuple[str, str, str | None, str], Any] = {}


ANY_UNIQUE = "*"  # `unless=ANY_UNIQUE`: skip a row that collides on any unique index


def insert_returning(
    table: Table, dialect: str, *, unless: str | None = None, returning: str = "id"
) -> Any:
    """INSERT ... RETURNING `returning` for `table`, built once per dialect. With `unless` (a
    column with a unique index, or ANY_UNIQUE for every unique index of the table) a colliding
    row is skipped (ON CONFLICT DO NOTHING) and the statement returns no row; a concurrent twin
    waits for the first writer's outcome."""
    key = (table.name, dialect, unless, returning)
    stmt = _INSERTS.get(key)
    if stmt is None:
        targets = None if unless is None or unless == ANY_UNIQUE else [unless]
        if unless is None:
            stmt = table.insert()
        elif dialect == "postgresql":
            stmt = pg_insert(table).on_conflict_do_nothing(index_elements=targets)
        else:
            stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=targets)
        stmt = _INSERTS[key] = stmt.returning(table.c[returning])
    return stmt


def add_new(session: Session, obj: Any, *, unless: str | None = None) -> bool:
    """Write a new object at once, as `session.add(obj)` then `session.flush()` would, with one
    INSERT ... RETURNING id built once per table: the unit of work costs about a millisecond of
    CPU per flush, which the hot paths (sign-up, purchase, ledger hold) cannot afford. The
    object then belongs to the session like any loaded row. Attributes left unset take their
    column's Python default, else None.

    With `unless` (the name of a column with a unique index, or ANY_UNIQUE), a row that would
    collide on it is not written (ON CONFLICT DO NOTHING) and False is returned; the object
    stays transient. Any other constraint failure raises IntegrityError, as a flush would (use a
    savepoint).
    For single-table classes whose primary key is an autoincrement `id`."""
    mapper = sa_inspect(type(obj))
    table = table_of(type(obj))
    row: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column.key == "id":
            continue
        if prop.key not in obj.__dict__:
            if column.server_default is not None:
                raise ValueError(f"add_new: set {prop.key} (it has a server default)")
            default = column.default
            value = None
            if default is not None and default.is_scalar:
                value = default.arg
            elif default is not None and default.is_callable:
                value = default.arg(None)
            setattr(obj, prop.key, value)
        row[column.key] = getattr(obj, prop.key)
    dialect = session.get_bind().dialect.name
    new = session.execute(insert_returning(table, dialect, unless=unless), row).scalar()
    if new is None:
        return False
    obj.id = int(new)
    make_transient_to_detached(obj)
    session.add(obj)
    # Registered as inserted by the innermost transaction, as a flush registers what it
    # inserts, so rolling that transaction (or savepoint) back takes the object out again
    # instead of leaving it in the session as a row that no longer exists.
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is not None:
        transaction._new[sa_inspect(obj)] = True
    return True


def new_id() -> str:
    """A random public identifier (UUID4 hex) for rows exposed in URLs."""
    return uuid.uuid4().hex


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the right per-backend settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            import pathlib

            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_postgres(session_or_engine: Session | Engine) -> bool:
    """True when the bound database is PostgreSQL."""
    bind = (
        session_or_engine.get_bind()
        if isinstance(session_or_engine, Session)
        else session_or_engine
    )
    return bind.dialect.name == "postgresql"


def skip_locked(session: Session, stmt: Select[Any]) -> Select[Any]:
    """Row claiming: FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite serialises writers anyway."""
    if is_postgres(session):
        return stmt.with_for_update(skip_locked=True)
    return stmt


def lock_for_update(session: Session, stmt: SelectT) -> SelectT:
    """Row lock on PostgreSQL (SELECT ... FOR UPDATE). SQLite has no row locks, so there the
    session's transaction takes the database's write lock now (`BEGIN IMMEDIATE`, waiting up
    to the busy timeout), before the SELECT runs: the driver would otherwise begin only at the
    first write, and a read-check-write done by two sessions at once would both pass the check."""
    if is_postgres(session):
        return stmt.with_for_update()
    driver = session.connection().connection.driver_connection
    if driver is not None and not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")
    return stmt


def bulk_insert(
    session: Session, table: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert many rows at once: COPY on PostgreSQL, executemany elsewhere. Returns the count."""
    if is_postgres(session):
        conn = session.connection().connection.driver_connection  # psycopg connection
        if conn is None:
            raise RuntimeError("the database connection is closed")
        cols = ", ".join(columns)
        count = 0
        with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = [dict(zip(columns, r, strict=True)) for r in rows]
    if batch:
        session.execute(table.insert(), batch)
    return len(batch)


class Database:
    """An engine plus its session factory; the entrypoint owns one."""

    #: Bound on a read made on the event loop's thread (`loop_reads`), which waits for nothing.
    LOOP_STATEMENT_TIMEOUT_MS = 2000

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._loop_connection: Connection | None = None
        self._loop_lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def loop_reads(self) -> Iterator[Session]:
        """A session for one short read (and its rare small write) made on the event loop's
        own thread, such as the caller lookup of every signed-in request: handing it to a
        worker thread costs more CPU than the read. It commits on success.

        On PostgreSQL it runs on a connection of its own, held by this process and used by
        nothing else, in autocommit with a statement timeout: it never waits for the pool and
        holds no transaction open. A second thread (a second event loop in one process, as in
        tests) takes an ordinary pooled session instead, as does SQLite. Objects read stay
        loaded afterwards, detached: `session.add()` them to another session to use them there.
        """
        if self.engine.dialect.name != "postgresql" or not self._loop_lock.acquire(False):
            with self.transaction() as session:
                yield session
            return
        try:
            connection = self._loop_connection
            if connection is None or connection.invalidated:  # a dropped one is invalidated
                self._drop_loop_connection()
                connection = self._loop_connection = self._open_loop_connection()
            with Session(bind=connection, expire_on_commit=False) as session:
                yield session
                session.commit()
        finally:
            self._loop_lock.release()

    def on_loop(self, read: Callable[[Session], T]) -> T:
        """`read(session)` inside `loop_reads`. When the server dropped the loop's connection
        since its last use (a restart, an idle timeout), the read is made once more on a new
        one, as the pool's pre-ping would have spared a pooled session that error. `read` must
        be safe to repeat: a read, and at most an idempotent write."""
        try:
            with self.loop_reads() as session:
                return read(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.loop_reads() as session:
            return read(session)

    def _open_loop_connection(self) -> Connection:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql(f"SET statement_timeout = {self.LOOP_STATEMENT_TIMEOUT_MS}")
        return connection

    def _drop_loop_connection(self) -> None:
        """Close the loop's connection for good (its settings must not reach the pool)."""
        connection, self._loop_connection = self._loop_connection, None
        if connection is not None:
            if not connection.invalidated:
                connection.invalidate()
            connection.close()  # gives the (now empty) pool slot back

    def dispose(self) -> None:
        with self._loop_lock:
            self._drop_loop_connection()
        self.engine.dispose()
