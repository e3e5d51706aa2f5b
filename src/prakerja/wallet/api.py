"""Citizen card API: always the logged-in citizen's own card (no ids in URLs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from prakerja.identity.deps import CurrentCitizen
from prakerja.kit.clock import jakarta_date, utc_now
from prakerja.kit.routing import DbSession, new_router
from prakerja.wallet import history, service_card

router = new_router(prefix="/api/v1", tags=["wallet"])


class CardProblem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str | None = None
    instance: str | None = None
    request_id: str | None = None


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    schema = CardProblem.model_json_schema()
    return {
        s: {
            "description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for s in statuses
    }


class CardRead(BaseModel):
    """The citizen's card: amounts in whole rupiah, deadlines as Asia/Jakarta dates."""

    number: str
    status: str
    balance: int
    available: int
    issued_on: dt.date
    first_purchase_deadline: dt.date
    first_purchase_at: dt.datetime | None
    spend_rest_deadline: dt.date | None
    next_step: str


@router.get("/card", responses=_problems(401, 403, 404))
def my_card(session: DbSession, account: CurrentCitizen) -> CardRead:
    """The logged-in citizen's card; 404 `card_not_found` until one is issued."""
    card = service_card.card_for_account(session, account.id)
    if card is None:
        raise service_card.CardNotFound()
    s = service_card.summary(session, card, jakarta_date(utc_now()))
    return CardRead(
        number=card.number,
        status=card.status,
        balance=s.balance,
        available=s.available,
        issued_on=jakarta_date(card.issued_at),
        first_purchase_deadline=card.first_purchase_deadline,
        first_purchase_at=card.first_purchase_at,
        spend_rest_deadline=card.spend_rest_deadline,
        next_step=s.next_step,
    )


class MovementRead(BaseModel):
    """One posted movement of the card's balance: `amount` in whole rupiah, positive into the
    card, negative out of it; `kind` one of issue, purchase, refund, correction, sweep,
    other."""

    at: dt.datetime
    kind: str
    amount: int


@router.get("/card/movements", responses=_problems(401, 403, 404))
def my_card_movements(session: DbSession, account: CurrentCitizen) -> list[MovementRead]:
    """The newest 50 posted movements of the citizen's card, newest first (a purchase awaiting
    the platform is a hold, not a movement: `balance - available` on GET /card)."""
    card = service_card.card_for_account(session, account.id)
    if card is None:
        raise service_card.CardNotFound()
    return [
        MovementRead(at=m.at, kind=m.kind, amount=m.amount)
        for m in history.movements(session, card.ledger_account_id)
    ]
