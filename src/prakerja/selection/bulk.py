"""Set-based writes of per-application results for a whole wave.

The results go into a temporary table first: PostgreSQL loads it with a single COPY of a CSV
buffer built column-wise by polars (no per-row Python work); SQLite inserts it with executemany
in chunks. SQLite then changes `application` with one UPDATE ... FROM. On PostgreSQL, where each
wave has its own partition, `rewrite_wave` builds the wave's new partition from a SELECT and swaps
it in: writing 6.7 million fresh rows and building their indexes in one pass costs a fraction of
updating the same rows in place (each in-place update writes a new row version plus an entry in
every index, since `status` is indexed), and leaves no dead rows behind.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    text,
    update,
)
from sqlalchemy.orm import Session

from prakerja.kit.db import is_postgres
from prakerja.selection.model import Application, partition_name

__all__ = [
    "enqueue_for_applications",
    "fetch_frame",
    "is_postgres",
    "rewrite_wave",
    "update_applications",
]

#: Every column of `application`, in table order: what a rewrite's SELECT must produce.
COLUMNS = tuple(c.name for c in Application.__table__.columns)

_TYPES = {"i": Integer, "s": String, "b": LargeBinary, "j": String}
_CHUNK = 50_000


def _temp_table(kinds: Mapping[str, str], *, keyed: bool) -> Table:
    """keyed: a primary key on person_id (SQLite's UPDATE ... FROM needs it to find rows;
    PostgreSQL joins the whole table by hash, and COPY is faster without an index)."""
    name = f"tmp_app_{uuid.uuid4().hex[:10]}"
    cols = [Column("person_id", BigInteger, primary_key=keyed, nullable=False)]
    cols += [Column(n, _TYPES[k]()) for n, k in kinds.items()]
    return Table(name, MetaData(), *cols, prefixes=["TEMPORARY"])


def _hex_bytes(values: Sequence[bytes]) -> list[str]:
    return ["\\x" + v.hex() for v in values]


def _copy_pg(
    session: Session,
    table: Table,
    person_ids: np.ndarray,
    columns: Mapping[str, Sequence[Any]],
    kinds: Mapping[str, str],
) -> None:
    data: dict[str, Any] = {"person_id": np.asarray(person_ids, np.int64)}
    for name, values in columns.items():
        data[name] = _hex_bytes(values) if kinds[name] == "b" else values
    buf = io.BytesIO()
    pl.DataFrame(data).write_csv(buf, include_header=False)
    conn: Any = session.connection().connection.driver_connection  # psycopg connection
    names = ", ".join(["person_id", *columns])
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT csv)") as copy,
    ):
        view = buf.getbuffer()
        for start in range(0, len(view), 1 << 24):
            copy.write(view[start : start + (1 << 24)])


def _insert_sqlite(
    session: Session, table: Table, person_ids: np.ndarray, columns: Mapping[str, Sequence[Any]]
) -> None:
    names = list(columns)
    ids = np.asarray(person_ids, np.int64).tolist()
    lists = [list(columns[n]) for n in names]
    for start in range(0, len(ids), _CHUNK):
        batch = [
            {"person_id": pid, **{n: col[i] for n, col in zip(names, lists, strict=True)}}
            for i, pid in enumerate(ids[start : start + _CHUNK], start)
        ]
        session.execute(table.insert(), batch)


#: Seconds per step of the last rewrite_wave in this process (benchmarks report them).
LAST_REWRITE: dict[str, float] = {}


def rewrite_wave(session: Session, wave_id: int, select_sql: str, params: Mapping[str, Any]) -> int:
    """Replace the wave's partition by the rows of `select_sql`; returns the row count.

    `select_sql` must yield every column of COLUMNS, in that order, exactly one row per
    application of the wave (checked: otherwise ValueError and, with the caller's transaction,
    nothing changes). The new table gets its keys, indexes and foreign keys before the swap, so
    ATTACH only adopts them. Writes to the wave's rows wait from the start (SHARE lock on the
    partition); from the swap on (DETACH locks `application` exclusively) every read of
    `application` waits until the caller commits, so callers swap last and commit soon after.
    """
    clock = time.perf_counter()
    LAST_REWRITE.clear()

    def step(name: str) -> None:
        nonlocal clock
        LAST_REWRITE[name] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()

    wave_id = int(wave_id)
    part = partition_name(wave_id)
    new = f"{part}_{uuid.uuid4().hex[:8]}"
    session.execute(text(f"LOCK TABLE {part} IN SHARE MODE"))
    session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    session.execute(text(f"CREATE TABLE {new} (LIKE application INCLUDING DEFAULTS)"))
    result: Any = session.execute(
        text(f"INSERT INTO {new} ({', '.join(COLUMNS)}) {select_sql}"), dict(params)
    )
    written = int(result.rowcount or 0)
    step("insert")
    before = int(session.scalar(text(f"SELECT count(*) FROM {part}")) or 0)  # noqa: S608
    step("count")
    if written != before:
        raise ValueError(f"rewrite of wave {wave_id} produced {written} rows for {before}")
    _add_keys(session, new, wave_id, step)
    session.execute(text(f"ALTER TABLE application DETACH PARTITION {part}"))
    session.execute(text(f"DROP TABLE {part}"))
    session.execute(text(f"ALTER TABLE {new} RENAME TO {part}"))
    session.execute(
        text(f"ALTER TABLE application ATTACH PARTITION {part} FOR VALUES IN ({wave_id})")
    )
    step("swap")
    session.execute(text(f"ANALYZE {part}"))  # fresh statistics for the rest of the run
    step("analyze")
    return written


def _add_keys(session: Session, new: str, wave_id: int, step: Any) -> None:
    """Give the table `new` what the partition of `wave_id` must have (its partition bound as a
    CHECK, the primary key, every index and foreign key of `application`), so ATTACH adopts
    them instead of building or validating them under its lock."""
    table: Table = Application.__table__  # type: ignore[assignment]  # a Table at runtime
    session.execute(
        text(f"ALTER TABLE {new} ADD CONSTRAINT {new}_wave CHECK (wave_id = {int(wave_id)})")
    )
    keys = ", ".join(c.name for c in table.primary_key.columns)
    session.execute(text(f"ALTER TABLE {new} ADD CONSTRAINT {new}_pkey PRIMARY KEY ({keys})"))
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        unique = "UNIQUE " if index.unique else ""
        cols = ", ".join(c.name for c in index.columns)
        session.execute(text(f"CREATE {unique}INDEX {new}_{index.name} ON {new} ({cols})"))
    step("indexes")
    for n, fk in enumerate(sorted(table.foreign_keys, key=lambda f: f.parent.name)):
        target = fk.column
        session.execute(
            text(
                f"ALTER TABLE {new} ADD CONSTRAINT {new}_fk{n} FOREIGN KEY ({fk.parent.name})"
                f" REFERENCES {target.table.name} ({target.name})"
            )
        )
    step("foreign_keys")


def _rewrite_from(
    session: Session,
    wave_id: int,
    table: Table,
    kinds: Mapping[str, str],
    staged: Mapping[str, str],
    stage: str,
) -> int:
    """rewrite_wave taking `kinds` columns from `table` where it has the person's row, and the
    `staged` columns (SQL over alias s) from the `stage` table holding every row of the wave."""
    exprs = []
    for name in COLUMNS:
        other = staged.get(name, f"a.{name}")
        if name in kinds:
            value = f"CAST(t.{name} AS JSON)" if kinds[name] == "j" else f"t.{name}"
            exprs.append(f"CASE WHEN t.person_id IS NULL THEN {other} ELSE {value} END")
        else:
            exprs.append(other)
    join_stage = f" JOIN {stage} s ON s.person_id = a.person_id" if staged else ""
    sql = (
        # Names and expressions are ours; the wave id is bound.
        f"SELECT {', '.join(exprs)} FROM application a{join_stage}"  # noqa: S608
        f" LEFT JOIN {table.name} t ON t.person_id = a.person_id WHERE a.wave_id = :w"
    )
    return rewrite_wave(session, wave_id, sql, {"w": wave_id})


def update_applications(
    session: Session,
    *,
    wave_id: int,
    person_ids: np.ndarray,
    columns: Mapping[str, Sequence[Any]],
    kinds: Mapping[str, str],
    staged: Mapping[str, str] | None = None,
    stage: str = "",
) -> int:
    """Set `columns` (name -> values aligned with person_ids) on the wave's applications.

    kinds: 'i' integer, 's' string, 'b' bytes, 'j' JSON given as its text. Returns rows changed.
    staged (PostgreSQL only): more columns, as SQL over alias s, read from the
    temporary table `stage` (a screening staged in the same transaction) and written in the
    same rewrite.
    """
    pg = is_postgres(session)
    if staged and not pg:
        raise ValueError("staged columns need PostgreSQL")
    if len(person_ids) == 0 and not staged:
        return 0
    table = _temp_table(kinds, keyed=not pg)
    table.create(session.connection())
    try:
        if pg:  # every migrated PostgreSQL database keeps a partition per wave: rewrite it
            clock = time.perf_counter()
            _copy_pg(session, table, person_ids, columns, kinds)
            session.execute(text(f"ANALYZE {table.name}"))
            loaded = time.perf_counter() - clock
            _rewrite_from(session, wave_id, table, kinds, staged or {}, stage)
            LAST_REWRITE["load"] = round(loaded, 3)
            return len(person_ids)
        _insert_sqlite(session, table, person_ids, columns)
        result = session.execute(
            update(Application)
            .where(Application.wave_id == wave_id, Application.person_id == table.c.person_id)
            .values(**{n: table.c[n] for n in columns})
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
    finally:
        table.drop(session.connection())


def fetch_frame(session: Session, sql: str, params: Mapping[str, Any]) -> pl.DataFrame:
    """The rows of a SELECT as a polars frame: COPY ... TO STDOUT on PostgreSQL (no per-row
    Python objects), plain fetch elsewhere. Parameters are integers only (inlined safely)."""
    if any(not isinstance(v, int) or isinstance(v, bool) for v in params.values()):
        raise TypeError("fetch_frame takes integer parameters only")
    if is_postgres(session):
        query = sql
        for name, value in params.items():
            query = query.replace(f":{name}", str(int(value)))
        conn: Any = session.connection().connection.driver_connection
        buf = io.BytesIO()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)") as copy,
        ):
            for block in copy:
                buf.write(block)
        buf.seek(0)
        return pl.read_csv(buf, infer_schema_length=0) if buf.getbuffer().nbytes else pl.DataFrame()
    result = session.execute(text(sql), dict(params))
    names = list(result.keys())
    rows = result.all()
    return pl.DataFrame(
        {n: [None if r[i] is None else str(r[i]) for r in rows] for i, n in enumerate(names)},
        schema=dict.fromkeys(names, pl.String),
    )


def enqueue_for_applications(
    session: Session,
    *,
    kind: str,
    wave_id: int,
    statuses: Sequence[str],
    extra: Mapping[str, int | None],
    now: Any,
) -> int:
    """One job of `kind` per application of the wave in `statuses`, in one INSERT ... SELECT.

    Payload: application_id, person_id, wave_id and the `extra` integers.
    """
    from sqlalchemy import func, insert, literal, select

    from prakerja.kit.db import UTCDateTime
    from prakerja.kit.jobs import QUEUED, Job
    from prakerja.selection.model import APPLICATION_ID_BASE

    build = func.json_build_object if is_postgres(session) else func.json_object
    app_id = Application.wave_id * literal(APPLICATION_ID_BASE, BigInteger) + Application.person_id
    parts: list[Any] = [
        "application_id",
        app_id,
        "person_id",
        Application.person_id,
        "wave_id",
        Application.wave_id,
    ]
    for key, value in extra.items():
        parts += [key, literal(value, BigInteger)]
    stamp = literal(now, UTCDateTime())
    source = select(
        literal(kind, String),
        build(*[literal(p, String) if isinstance(p, str) else p for p in parts]),
        literal(QUEUED, String),
        literal(0, Integer),
        literal(8, Integer),
        stamp,
        stamp,
    ).where(Application.wave_id == wave_id, Application.status.in_(list(statuses)))
    stmt = insert(Job).from_select(
        ["kind", "payload", "status", "attempts", "max_attempts", "run_after", "created_at"], source
    )
    result: Any = session.execute(stmt.execution_options(preserve_rowcount=True))
    return int(result.rowcount or 0)
