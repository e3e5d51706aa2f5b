"""list uploads kept in parts, not as one value

A large exclusion or priority list (up to 200 MB) was kept whole in `list_upload.content`: the
web process read the file into memory to store it (and the driver made another copy), and the
worker read it whole again to import it. Its pieces now go into `list_upload_part`, written
and read one at a time (`registration.service_lists.PART_BYTES`). An upload still queued at
the upgrade keeps its content as its one part.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


_FK = "fk_list_upload_part_upload_id_list_upload"


def upgrade() -> None:
    # The foreign key comes last: on SQLite, dropping `content` rebuilds `list_upload` (copy,
    # drop, rename), and dropping the old table would cascade to every part already copied.
    op.create_table(
        "list_upload_part",
        sa.Column("upload_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("upload_id", "seq", name=op.f("pk_list_upload_part")),
    )
    op.execute(
        "INSERT INTO list_upload_part (upload_id, seq, data) "
        "SELECT id, 0, content FROM list_upload WHERE length(content) > 0"
    )
    with op.batch_alter_table("list_upload") as batch:
        batch.drop_column("content")
    with op.batch_alter_table("list_upload_part") as batch:
        batch.create_foreign_key(
            op.f(_FK), "list_upload", ["upload_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("list_upload_part") as batch:  # first, for the same reason
        batch.drop_constraint(op.f(_FK), type_="foreignkey")
    with op.batch_alter_table("list_upload") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE list_upload SET content = :empty"), {"empty": b""})
    uploads = bind.execute(sa.text("SELECT DISTINCT upload_id FROM list_upload_part")).scalars()
    for upload_id in list(uploads):
        parts = bind.execute(
            sa.text("SELECT data FROM list_upload_part WHERE upload_id = :u ORDER BY seq"),
            {"u": upload_id},
        ).scalars()
        bind.execute(
            sa.text("UPDATE list_upload SET content = :c WHERE id = :u"),
            {"c": b"".join(parts), "u": upload_id},
        )
    with op.batch_alter_table("list_upload") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table("list_upload_part")
