"""Bounding guesses: counting wrong one-time codes (login, phone, purchase), and locking an
account so that its limited requests run one after another (`locked_account`).

A wrong code is counted by one conditional UPDATE: `attempts = attempts + 1`, the challenge
dead once the limit is reached (and locked until a time where the challenge has a lock), only
while it is still open. Counting in Python (read attempts, add one, write it back) would let
guesses sent in parallel each write the same stale count, so a brute force with N requests
in flight would be counted once per batch instead of N times.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from prakerja.identity.model import Account
from prakerja.kit.db import lock_for_update


def locked_account(session: Session, account_id: int) -> Account | None:
    """The account, locked until the transaction ends (`kit.db.lock_for_update`) and read as
    it is now, also when the session already holds it (the caller lookup adds the signed-in
    account): requests of one account that count against a limit, or use something once,
    queue here and each sees what the one before it committed."""
    stmt = lock_for_update(session, select(Account).where(Account.id == account_id))
    return session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


def count_wrong_code(
    session: Session, challenge: Any, *, max_tries: int, lock_until: dt.datetime | None = None
) -> int | None:
    """Count one wrong code against `challenge` (a row with `id`, `attempts`, `status` and, if
    `lock_until` is given, `locked_until`). Returns the attempts counted so far, this one
    included, or None when the challenge was no longer open (another request used it, killed
    it or locked it meanwhile). The challenge object is updated to what was written."""
    model = type(challenge)
    reached = model.attempts + 1 >= max_tries
    values: dict[str, Any] = {
        "attempts": model.attempts + 1,
        "status": case((reached, "dead"), else_=model.status),
    }
    returned = [model.attempts, model.status]
    if lock_until is not None:
        until = bindparam("lock_until", lock_until, type_=model.locked_until.type)
        values["locked_until"] = case((reached, until), else_=model.locked_until)
        returned.append(model.locked_until)
    stmt = (
        update(model)
        .where(model.id == challenge.id, model.status == "open")
        .values(**values)
        .returning(*returned)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(stmt).first()
    if row is None:
        return None
    for column, value in zip(("attempts", "status", "locked_until"), row, strict=False):
        set_committed_value(challenge, column, value)
    return int(row[0])
