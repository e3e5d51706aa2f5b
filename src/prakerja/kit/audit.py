"""Append-only, hash-chained audit log of operator actions and every reveal of personal data.

Each row's `hash` is HMAC-SHA256(audit secret, prev_hash || canonical JSON of the row), so
removing, reordering or editing any row breaks the chain from that row on, and the chain cannot
be rebuilt without the secret. Appends are serialised (an advisory lock on PostgreSQL; SQLite
has one writer) so the chain never forks. The database refuses UPDATE and DELETE on the table
(migration 0002); the chain catches what someone with the owner's rights does past that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from prakerja.kit.db import Base, BigId, UTCDateTime, is_postgres

GENESIS = "0" * 64
_LOCK_ID = 730_120_001


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def _digest(
    secret: str,
    prev_hash: str,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    data: dict[str, Any],
) -> str:
    body = json.dumps(
        [
            prev_hash,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            actor,
            action,
            target,
            data,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    data: dict[str, Any] | None = None,
    now: dt.datetime,
    secret: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain in the caller's transaction."""
    if secret is None:
        from prakerja.settings import get_settings

        secret = get_settings().audit_secret
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    payload = json.loads(json.dumps(data or {}, default=str))
    at = now.replace(microsecond=now.microsecond)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target=target,
        data=payload,
        prev_hash=prev or GENESIS,
        hash=_digest(secret, prev or GENESIS, at, actor, action, target, payload),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    head_id: int | None = None  # the newest row checked: record it elsewhere as an anchor
    head_hash: str | None = None


def verify(
    session: Session,
    *,
    secret: str | None = None,
    batch: int = 5000,
    anchor: tuple[int, str] | None = None,
) -> ChainReport:
    """Walk the whole chain in id order; name the first row whose link or hash is wrong.

    A chain whose newest rows were deleted still links up. `anchor` is an (id, hash) recorded
    outside the database from an earlier run (its head): the row must still be there, unchanged.
    """
    if secret is None:
        from prakerja.settings import get_settings

        secret = get_settings().audit_secret
    prev, checked, last_id, anchored = GENESIS, 0, 0, False
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(
                    False, checked, row.id, "prev_hash does not match the row before"
                )
            expected = _digest(secret, prev, row.at, row.actor, row.action, row.target, row.data)
            if not hmac.compare_digest(expected, row.hash):
                return ChainReport(False, checked, row.id, "row content does not match its hash")
            if anchor is not None and row.id == anchor[0]:
                if not hmac.compare_digest(row.hash, anchor[1]):
                    return ChainReport(False, checked, row.id, "the anchored row was replaced")
                anchored = True
            prev, checked, last_id = row.hash, checked + 1, row.id
    if anchor is not None and not anchored:
        return ChainReport(False, checked, anchor[0], "the anchored row is gone (chain cut)")
    return ChainReport(True, checked, head_id=last_id or None, head_hash=prev if last_id else None)
