"""Set-based writes of per-application results: one temporary table, one UPDATE ... FROM.

PostgreSQL loads the temporary table with a single COPY of a CSV buffer built column-wise by
polars (no per-row Python work); SQLite inserts it with executemany in chunks. Either way the
application table is then changed by one statement per wave.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    cast,
    text,
    update,
)
from sqlalchemy.orm import Session

from prakerja.kit.db import is_postgres

__all__ = ["enqueue_for_applications", "fetch_frame", "is_postgres", "update_applications"]
from prakerja.selection.model import Application

_TYPES = {"i": Integer, "s": String, "b": LargeBinary, "j": String}
_CHUNK = 50_000


def _temp_table(kinds: Mapping[str, str]) -> Table:
    name = f"tmp_app_{uuid.uuid4().hex[:10]}"
    cols = [Column("person_id", BigInteger, primary_key=True)]
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


def update_applications(
    session: Session,
    *,
    wave_id: int,
    person_ids: np.ndarray,
    columns: Mapping[str, Sequence[Any]],
    kinds: Mapping[str, str],
) -> int:
    """Set `columns` (name -> values aligned with person_ids) on the wave's applications.

    kinds: 'i' integer, 's' string, 'b' bytes, 'j' JSON given as its text. Returns rows changed.
    """
    if len(person_ids) == 0:
        return 0
    table = _temp_table(kinds)
    table.create(session.connection())
    try:
        pg = is_postgres(session)
        if pg:
            _copy_pg(session, table, person_ids, columns, kinds)
            session.execute(text(f"ANALYZE {table.name}"))
        else:
            _insert_sqlite(session, table, person_ids, columns)
        values = {
            n: (cast(table.c[n], JSON) if pg else table.c[n]) if kinds[n] == "j" else table.c[n]
            for n in columns
        }
        result = session.execute(
            update(Application)
            .where(Application.wave_id == wave_id, Application.person_id == table.c.person_id)
            .values(**values)
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
