"""A card's movements for its holder's page: what came into the training balance and what went
out, newest first, read from the ledger's entries (signed from the card's side: see the
package docstring). A hold awaiting a platform's confirmation is no entry yet; the card page
shows it as the gap between the balance and the amount available now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from prakerja.wallet.model import Entry, Transfer

# What a movement was, as the page names it: the transfer's kind, except that a reversal is a
# refund when it gives back to the card (a cancelled course) and a correction when it takes.
KINDS = ("issue", "purchase", "refund", "correction", "sweep", "other")

# Built once; (account_id, id) is indexed, so this reads only the card's own newest entries.
_NEWEST = (
    select(Entry.created_at, Entry.amount, Transfer.kind)
    .join(Transfer, Transfer.id == Entry.transfer_id)
    .where(Entry.account_id == bindparam("account_id"))
    .order_by(Entry.id.desc())
    .limit(bindparam("limit"))
)


@dataclass(frozen=True)
class Movement:
    at: dt.datetime
    kind: str  # one of KINDS
    amount: int  # rupiah: positive into the card, negative out of it


def movements(session: Session, account_id: int | None, *, limit: int = 50) -> list[Movement]:
    """The newest `limit` posted movements of a card's ledger account (none before issue)."""
    if account_id is None:
        return []
    rows = session.execute(_NEWEST, {"account_id": account_id, "limit": limit})
    return [
        Movement(at=at, kind=_kind(kind, int(amount)), amount=int(amount))
        for at, amount, kind in rows
    ]


def _kind(transfer_kind: str, amount: int) -> str:
    if transfer_kind == "reversal":
        return "refund" if amount > 0 else "correction"
    return transfer_kind if transfer_kind in KINDS else "other"
