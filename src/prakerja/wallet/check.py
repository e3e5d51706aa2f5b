"""`prakerja wallet check`: every ledger invariant over the whole ledger, in set-based SQL.

Rules (the `rule` each problem names): `transfer_balances` (a posted transfer has two entries
summing to zero, any other none), `balance_equals_entries`, `no_negative_balance` (recipient
accounts), `held_equals_pending_holds`, `closed_or_revoked_card_empty` (such a card's account
has no balance, nothing held and no pending hold).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from prakerja.wallet.model import PENDING, POSTED, Entry, LedgerAccount, Transfer
from prakerja.wallet.model_card import CLOSED, REVOKED, Card


@dataclass(frozen=True)
class Problem:
    rule: str
    subject: str
    detail: str


def _unbalanced_transfers(session: Session, limit: int) -> list[Problem]:
    sums = (
        select(Entry.transfer_id, func.sum(Entry.amount).label("total"), func.count().label("legs"))
        .group_by(Entry.transfer_id)
        .subquery()
    )
    rows = session.execute(
        select(Transfer.id, Transfer.status, sums.c.total, sums.c.legs)
        .outerjoin(sums, sums.c.transfer_id == Transfer.id)
        .where(
            or_(
                sums.c.total != 0,
                and_(Transfer.status == POSTED, func.coalesce(sums.c.legs, 0) != 2),
                and_(Transfer.status != POSTED, func.coalesce(sums.c.legs, 0) != 0),
            )
        )
        .limit(limit)
    ).all()
    return [
        Problem(
            "transfer_balances",
            f"transfer:{r[0]}",
            f"status={r[1]} entries={r[3] or 0} sum={r[2] or 0}",
        )
        for r in rows
    ]


def _balance_mismatch(session: Session, limit: int) -> list[Problem]:
    sums = (
        select(Entry.account_id, func.sum(Entry.amount).label("total"))
        .group_by(Entry.account_id)
        .subquery()
    )
    total = func.coalesce(sums.c.total, 0)
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.balance, total)
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.balance != total)
        .limit(limit)
    ).all()
    return [Problem("balance_equals_entries", r[0], f"balance={r[1]} entries={r[2]}") for r in rows]


def _negative(session: Session, limit: int) -> list[Problem]:
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.balance, LedgerAccount.held)
        .where(
            ~LedgerAccount.allow_negative,
            or_(LedgerAccount.balance < 0, LedgerAccount.balance - LedgerAccount.held < 0),
        )
        .limit(limit)
    ).all()
    return [Problem("no_negative_balance", r[0], f"balance={r[1]} held={r[2]}") for r in rows]


def _orphan_holds(session: Session, limit: int) -> list[Problem]:
    pending = (
        select(Transfer.from_account_id, func.sum(Transfer.amount).label("total"))
        .where(Transfer.status == PENDING)
        .group_by(Transfer.from_account_id)
        .subquery()
    )
    total = func.coalesce(pending.c.total, 0)
    rows = session.execute(
        select(LedgerAccount.code, LedgerAccount.held, total)
        .outerjoin(pending, pending.c.from_account_id == LedgerAccount.id)
        .where(LedgerAccount.held != total)
        .limit(limit)
    ).all()
    return [Problem("held_equals_pending_holds", r[0], f"held={r[1]} pending={r[2]}") for r in rows]


def _money_on_closed_cards(session: Session, limit: int) -> list[Problem]:
    """A revoked or closed card was swept to the treasury and takes no money after (a refund is
    swept on at once), so its account holds nothing and nothing is held on it."""
    pending = (
        select(Transfer.from_account_id, func.count().label("holds"))
        .where(Transfer.status == PENDING)
        .group_by(Transfer.from_account_id)
        .subquery()
    )
    holds = func.coalesce(pending.c.holds, 0)
    rows = session.execute(
        select(Card.id, Card.status, LedgerAccount.balance, LedgerAccount.held, holds)
        .join(LedgerAccount, LedgerAccount.id == Card.ledger_account_id)
        .outerjoin(pending, pending.c.from_account_id == LedgerAccount.id)
        .where(
            Card.status.in_((REVOKED, CLOSED)),
            or_(LedgerAccount.balance != 0, LedgerAccount.held != 0, holds != 0),
        )
        .limit(limit)
    ).all()
    return [
        Problem(
            "closed_or_revoked_card_empty",
            f"card:{r[0]}",
            f"status={r[1]} balance={r[2]} held={r[3]} pending_holds={r[4]}",
        )
        for r in rows
    ]


def check_ledger(session: Session, limit: int = 50) -> list[Problem]:
    """All invariant violations (at most `limit` per rule); an empty list means a sound ledger."""
    return [
        *_unbalanced_transfers(session, limit),
        *_balance_mismatch(session, limit),
        *_negative(session, limit),
        *_orphan_holds(session, limit),
        *_money_on_closed_cards(session, limit),
    ]
