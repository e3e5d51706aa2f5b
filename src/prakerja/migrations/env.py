"""Alembic environment: the URL comes from the caller's Config (see prakerja.kit.migrate)."""

from alembic import context
from sqlalchemy import Connection, pool

import prakerja.models  # noqa: F401
from prakerja.kit.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
connection = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
elif url is None:
    raise RuntimeError("alembic needs sqlalchemy.url or a connection (prakerja.kit.migrate)")
else:
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
