"""Ledger use-cases. Every balance change is one guarded UPDATE, so concurrent writers can never
overspend: the check and the change happen in the same statement under the row lock."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, select, update
from sqlalchemy.orm import QueryableAttribute, Session

from prakerja.kit.db import add_new, insert_returning, table_of
from prakerja.wallet import rules
from prakerja.wallet.model import PENDING, POSTED, VOIDED, Entry, LedgerAccount, Transfer

# Statements on the purchase path, built once (building one costs more CPU than running it).
_ACCOUNT_BY_CODE = select(LedgerAccount).where(LedgerAccount.code == bindparam("code"))
_ACCOUNT_ID_BY_CODE = select(LedgerAccount.id).where(LedgerAccount.code == bindparam("code"))
_TRANSFER_BY_KEY = select(Transfer).where(Transfer.key == bindparam("key"))
_acc = LedgerAccount
_HOLD = (  # reserve `amount` unless that would take the available balance below zero
    update(_acc)
    .where(
        _acc.id == bindparam("account_id"),
        _acc.allow_negative | (_acc.balance - _acc.held - bindparam("amount") >= 0),
    )
    .values(held=_acc.held + bindparam("amount"))
    .execution_options(synchronize_session=False)
)
_BALANCE = select(LedgerAccount.balance, LedgerAccount.held).where(
    LedgerAccount.id == bindparam("account_id")
)


def open_account(
    session: Session, *, code: str, kind: str, now: dt.datetime, allow_negative: bool = False
) -> LedgerAccount:
    """The account with this code, created if missing (idempotent, also under concurrency: two
    requests opening the same account at once both get it; the second waits for the first)."""
    account = session.scalar(_ACCOUNT_BY_CODE, {"code": code})
    if account is not None:
        return account
    row = {
        "code": code,
        "kind": kind,
        "allow_negative": allow_negative,
        "balance": 0,
        "held": 0,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    session.execute(insert_returning(table_of(LedgerAccount), dialect, unless="code"), row)
    return session.scalars(_ACCOUNT_BY_CODE, {"code": code}).one()


def open_account_id(session: Session, *, code: str, kind: str, now: dt.datetime) -> int:
    """The id of the account with this code, opened if missing (`open_account` without loading
    the row: the purchase path only needs the id)."""
    found = session.scalar(_ACCOUNT_ID_BY_CODE, {"code": code})
    if found is not None:
        return int(found)
    return open_account(session, code=code, kind=kind, now=now).id


def account_by_code(session: Session, code: str) -> LedgerAccount:
    account = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if account is None:
        raise rules.UnknownAccount(code)
    return account


def _existing(session: Session, key: str, fingerprint: str) -> Transfer | None:
    found = session.scalar(_TRANSFER_BY_KEY, {"key": key})
    if found is not None and found.payload_hash != fingerprint:
        raise rules.IdempotencyConflict(f"key {key!r}")
    return found


def _debit(session: Session, account_id: int, amount: int, *, from_held: bool) -> None:
    acc = LedgerAccount
    values: dict[str, Any] = {"balance": acc.balance - amount}
    guard = acc.allow_negative | (acc.balance - acc.held - amount >= 0)
    if from_held:
        values["held"] = acc.held - amount
        guard = acc.allow_negative | (acc.balance - amount >= 0)
    result = session.execute(
        update(acc)
        .where(acc.id == account_id, guard)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        _raise_missing_or_short(session, account_id)


def _credit(session: Session, account_id: int, amount: int) -> None:
    result = session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .values(balance=LedgerAccount.balance + amount)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise rules.UnknownAccount(str(account_id))


def _raise_missing_or_short(session: Session, account_id: int) -> None:
    if session.get(LedgerAccount, account_id) is None:
        raise rules.UnknownAccount(str(account_id))
    raise rules.InsufficientBalance()


def _new_transfer(
    session: Session,
    *,
    key: str,
    fp: str,
    kind: str,
    from_id: int,
    to_id: int,
    amount: int,
    status: str,
    meta: dict[str, Any] | None,
    now: dt.datetime,
    reverses_id: int | None = None,
) -> tuple[Transfer, bool]:
    """(the transfer, True) when written now; (the earlier one, False) when `key` is known, as
    for a retry (another payload under the key: IdempotencyConflict). The row with its unique key
    goes in first and in one statement (INSERT ... ON CONFLICT DO NOTHING): a concurrent twin
    waits for the first, then finds its transfer, so the caller's balance updates never run
    twice for one key."""
    transfer = Transfer(
        key=key,
        payload_hash=fp,
        kind=kind,
        from_account_id=from_id,
        to_account_id=to_id,
        amount=amount,
        status=status,
        meta=meta or {},
        created_at=now,
        settled_at=now if status == POSTED else None,
        reverses_id=reverses_id,
    )
    if add_new(session, transfer, unless="key"):
        return transfer, True
    found = _existing(session, key, fp)
    if found is None:  # the key's row cannot vanish: transfers are never deleted
        raise rules.IdempotencyConflict(f"key {key!r}")
    return found, False


def _entries(session: Session, transfer: Transfer, now: dt.datetime) -> None:
    session.add_all(
        [
            Entry(
                transfer_id=transfer.id,
                account_id=transfer.from_account_id,
                amount=-transfer.amount,
                created_at=now,
            ),
            Entry(
                transfer_id=transfer.id,
                account_id=transfer.to_account_id,
                amount=transfer.amount,
                created_at=now,
            ),
        ]
    )


def transfer(
    session: Session,
    *,
    key: str,
    from_id: int,
    to_id: int,
    amount: int,
    kind: str,
    now: dt.datetime,
    meta: dict[str, Any] | None = None,
    reverses_id: int | None = None,
) -> Transfer:
    """Move `amount` at once. A retry with the same key and payload returns the first transfer."""
    rules.check_amount(amount)
    if from_id == to_id:
        raise rules.BadAmount("a transfer needs two different accounts")
    fp = rules.fingerprint(op="transfer", from_id=from_id, to_id=to_id, amount=amount, kind=kind)
    with session.begin_nested():  # a refused transfer leaves nothing behind
        t, new = _new_transfer(
            session,
            key=key,
            fp=fp,
            kind=kind,
            from_id=from_id,
            to_id=to_id,
            amount=amount,
            status=POSTED,
            meta=meta,
            now=now,
            reverses_id=reverses_id,
        )
        if not new:
            return t
        _debit(session, from_id, amount, from_held=False)
        _credit(session, to_id, amount)
        _entries(session, t, now)
    return t


def hold(
    session: Session,
    *,
    key: str,
    from_id: int,
    to_id: int,
    amount: int,
    kind: str,
    now: dt.datetime,
    meta: dict[str, Any] | None = None,
    savepoint: bool = True,
) -> Transfer:
    """Reserve `amount` on the source for a later `post` or `void` (two-phase transfer).

    A refusal leaves nothing behind: the hold runs in a savepoint of its own, or, with
    `savepoint=False`, in the caller's, which must then be undone on any error (two round trips
    fewer on the purchase path, which already holds one)."""
    rules.check_amount(amount)
    if from_id == to_id:
        raise rules.BadAmount("a transfer needs two different accounts")
    fp = rules.fingerprint(op="hold", from_id=from_id, to_id=to_id, amount=amount, kind=kind)
    with session.begin_nested() if savepoint else contextlib.nullcontext():
        t, new = _new_transfer(
            session,
            key=key,
            fp=fp,
            kind=kind,
            from_id=from_id,
            to_id=to_id,
            amount=amount,
            status=PENDING,
            meta=meta,
            now=now,
        )
        if not new:
            return t
        result = session.execute(_HOLD, {"account_id": from_id, "amount": amount})
        if result.rowcount != 1:  # type: ignore[attr-defined]
            _raise_missing_or_short(session, from_id)
    return t


def _settle(session: Session, transfer_id: int, status: str, now: dt.datetime) -> Transfer | None:
    """Flip pending -> status in one guarded UPDATE; None if it was not pending."""
    result = session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.status == PENDING)
        .values(status=status, settled_at=now)
        .execution_options(synchronize_session=False)
    )
    t = session.get(Transfer, transfer_id)
    if t is None:
        raise rules.TransferNotPending(f"transfer {transfer_id} does not exist")
    session.refresh(t)
    return t if result.rowcount == 1 else None  # type: ignore[attr-defined]


def post(session: Session, *, transfer_id: int, now: dt.datetime) -> Transfer:
    """Complete a hold. Posting twice is a no-op; posting a voided hold is refused."""
    with session.begin_nested():
        t = _settle(session, transfer_id, POSTED, now)
        if t is not None:
            _debit(session, t.from_account_id, t.amount, from_held=True)
            _credit(session, t.to_account_id, t.amount)
            _entries(session, t, now)
    if t is None:
        current = session.get(Transfer, transfer_id)
        if current is not None and current.status == POSTED:
            return current
        raise rules.TransferNotPending()
    return t


def void(session: Session, *, transfer_id: int, now: dt.datetime) -> Transfer:
    """Release a hold. Voiding twice is a no-op; voiding a posted transfer is refused."""
    t = _settle(session, transfer_id, VOIDED, now)
    if t is None:
        current = session.get(Transfer, transfer_id)
        if current is not None and current.status == VOIDED:
            return current
        raise rules.TransferNotPending()
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == t.from_account_id)
        .values(held=LedgerAccount.held - t.amount)
        .execution_options(synchronize_session=False)
    )
    return t


def reverse(
    session: Session, *, transfer_id: int, now: dt.datetime, meta: dict[str, Any] | None = None
) -> Transfer:
    """Correct a posted transfer with an equal and opposite one (rows are never edited)."""
    original = session.get(Transfer, transfer_id)
    if original is None or original.status != POSTED:
        raise rules.TransferNotPosted()
    return transfer(
        session,
        key=f"reversal:{original.id}",
        from_id=original.to_account_id,
        to_id=original.from_account_id,
        amount=original.amount,
        kind="reversal",
        now=now,
        meta=meta,
        reverses_id=original.id,
    )


def available_of(account_id: ColumnElement[Any] | QueryableAttribute[Any]) -> ScalarSelect[Any]:
    """The available balance (balance - held) of the account with id `account_id`, as a scalar
    subquery for a caller to fold into its own SELECT (one round trip fewer on a hot path)."""
    acc = LedgerAccount
    return select(acc.balance - acc.held).where(acc.id == account_id).scalar_subquery()


def account_id_of(code: ColumnElement[Any] | QueryableAttribute[Any]) -> ScalarSelect[Any]:
    """The id of the account with this code (NULL if none), as a scalar subquery."""
    return select(LedgerAccount.id).where(LedgerAccount.code == code).scalar_subquery()


def balance(session: Session, account_id: int) -> tuple[int, int]:
    """(balance, available) where available = balance - held."""
    row = session.execute(_BALANCE, {"account_id": account_id}).one_or_none()
    if row is None:
        raise rules.UnknownAccount(str(account_id))
    return int(row[0]), int(row[0] - row[1])
