"""The PII vault: AES-256-GCM encryption with key ids, keyed blind indexes, masking, audited reveal.

Blob layout: b"V1" | len(kid) (1 byte) | kid (ASCII) | nonce (12 bytes) | ciphertext+tag.
The header (version and key id) is the GCM associated data, so a blob cannot be relabelled with
another key id. The first key of `Settings.pii_keyring()` encrypts; every key in the ring
decrypts, so keys rotate without downtime: add a new key first, run `prakerja keys rotate`,
then drop the old one.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from prakerja.kit import audit
from prakerja.kit.db import Base
from prakerja.settings import get_settings

VERSION = b"V1"
NONCE_LEN = 12
_DIGITS_ONLY = {"nik", "kk"}


class VaultError(Exception):
    """A blob that cannot be decrypted: unknown key id, corrupted or tampered."""


# (table name, columns) holding vault blobs; other contexts may add theirs with `register`.
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("nik_enc", "kk_enc", "mother_name_enc", "ktp_photo_enc"),
    "account": ("totp_secret_enc",),
}


def register(table: str, *columns: str) -> None:
    """Declare more encrypted columns so `rotate` re-encrypts them too."""
    ENCRYPTED_COLUMNS[table] = tuple(dict.fromkeys(ENCRYPTED_COLUMNS.get(table, ()) + columns))


def _header(kid: str) -> bytes:
    raw = kid.encode("ascii")
    if not 0 < len(raw) < 256:
        raise VaultError("key id must be 1-255 ASCII characters")
    return VERSION + bytes([len(raw)]) + raw


def _active() -> tuple[str, bytes]:
    kid, key = next(iter(get_settings().pii_keyring().items()))
    return kid, key


def key_id(blob: bytes) -> str:
    """The key id a blob was encrypted with."""
    if len(blob) < 4 or blob[:2] != VERSION:
        raise VaultError("not a vault blob")
    return blob[3 : 3 + blob[2]].decode("ascii", "replace")


def encrypt(data: bytes) -> bytes:
    """Encrypt with the active key; a fresh random nonce every call."""
    kid, key = _active()
    header = _header(kid)
    nonce = os.urandom(NONCE_LEN)
    return header + nonce + AESGCM(key).encrypt(nonce, data, header)


def decrypt(blob: bytes) -> bytes:
    """Decrypt with the key named in the blob; VaultError if unknown, corrupted or tampered."""
    kid = key_id(bytes(blob))
    key = get_settings().pii_keyring().get(kid)
    if key is None:
        raise VaultError(f"unknown key id {kid!r}")
    blob = bytes(blob)
    start = 3 + blob[2]
    nonce, body = blob[start : start + NONCE_LEN], blob[start + NONCE_LEN :]
    try:
        return AESGCM(key).decrypt(nonce, body, blob[:start])
    except InvalidTag as exc:
        raise VaultError("blob failed authentication") from exc


def encrypt_text(text: str) -> bytes:
    """Encrypt a string (UTF-8)."""
    return encrypt(text.encode("utf-8"))


def decrypt_text(blob: bytes) -> str:
    """Decrypt a string made by `encrypt_text`."""
    return decrypt(blob).decode("utf-8")


def normalise(value: str, purpose: str) -> str:
    """Digits only for NIK/KK; otherwise trimmed, case-folded, single-spaced."""
    if purpose in _DIGITS_ONLY:
        return re.sub(r"\D", "", value)
    return " ".join(value.split()).casefold()


def blind_index(value: str, purpose: str = "nik") -> str:
    """Hex HMAC-SHA256 of the normalised value under a per-purpose key (stable, not reversible).

    The per-purpose key is HMAC(blind_index_key, purpose), so equal values indexed for different
    purposes never share an index value.
    """
    return hmac.digest(_purpose_key(purpose), normalise(value, purpose).encode(), "sha256").hex()


def blind_indexes(values: Sequence[str | None], purpose: str = "nik") -> list[str | None]:
    """`blind_index` of each value (None stays None), for bulk work: the per-purpose key is
    derived once and digit strings skip normalising."""
    key, digits = _purpose_key(purpose), purpose in _DIGITS_ONLY
    return [
        None
        if v is None
        else hmac.digest(
            key, (v if digits and v.isascii() and v.isdigit() else normalise(v, purpose)).encode(),
            "sha256",
        ).hex()
        for v in values
    ]  # fmt: skip


def _purpose_key(purpose: str) -> bytes:
    root = get_settings().blind_index_key.encode()
    return hmac.digest(root, b"prakerja.blind-index:" + purpose.encode(), "sha256")


def mask_digits(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """'3201234567890001' -> '3201********0001'; short values are masked entirely."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def reveal_text(
    session: Session, *, blob: bytes, actor: str, purpose: str, target: str, now: dt.datetime
) -> str:
    """Decrypt personal data for display, recording who saw what and why in the audit chain."""
    if not purpose.strip():
        raise VaultError("a reveal needs a stated purpose")
    text = decrypt_text(blob)
    audit.record(
        session,
        actor=actor,
        action="pii.reveal",
        target=target,
        data={"purpose": purpose, "key_id": key_id(bytes(blob))},
        now=now,
    )
    return text


@dataclass(frozen=True)
class _Target:
    table: Table
    pk: Column[int]
    column: Column[bytes]


def _targets() -> list[_Target]:
    out: list[_Target] = []
    for name, columns in ENCRYPTED_COLUMNS.items():
        table = Base.metadata.tables.get(name)
        if table is None:
            continue
        pk = next(iter(table.primary_key.columns))
        out.extend(_Target(table, pk, table.c[c]) for c in columns if c in table.c)
    return out


def rotate(session: Session, *, now: dt.datetime, batch: int = 1000) -> int:
    """Re-encrypt every registered blob not under the active key, `batch` rows per statement.

    Returns how many values were re-encrypted; safe to re-run (already rotated rows are skipped).
    """
    kid, _ = _active()
    prefix = _header(kid)
    total = 0
    for target in _targets():
        total += _rotate_column(session, target, prefix, batch)
    if total:
        audit.record(
            session,
            actor="system",
            action="pii.rotate",
            data={"active_key": kid, "values": total},
            now=now,
        )
    return total


def _rotate_column(session: Session, target: _Target, prefix: bytes, batch: int) -> int:
    col, pk = target.column, target.pk
    stale = col.isnot(None) & (func.substr(col, 1, len(prefix)) != prefix)
    done, last = 0, None
    while True:
        stmt = select(pk, col).where(stale).order_by(pk).limit(batch)
        if last is not None:
            stmt = stmt.where(pk > last)
        rows = session.execute(stmt).all()
        if not rows:
            return done
        params = [{"_id": r[0], "_blob": encrypt(decrypt(r[1]))} for r in rows]
        session.execute(
            update(target.table)
            .where(pk == bindparam("_id"))
            .values({col.name: bindparam("_blob")}),
            params,
        )
        done, last = done + len(rows), rows[-1][0]
