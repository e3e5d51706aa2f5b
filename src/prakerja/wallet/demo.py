"""Demo data of the wallet: the cards of the demo wave's winners.

The draw left one queued `wallet.issue_card` job per winner; they are consumed here the way
`prakerja cards issue-pending` consumes a wave's jobs in production (`bulk.issue_cards_for_wave`:
the per-job result, set-based), shortly after the draw. Each card is credited with the policy's
training balance from the budget account, and each winner gets the card SMS.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity.model import Account
from prakerja.registration.model import Person
from prakerja.selection import service as selection
from prakerja.wallet import bulk
from prakerja.wallet.model_card import ACTIVE, Card

if TYPE_CHECKING:
    from prakerja.demo import DemoEnv


class Holder(NamedTuple):
    """A demo card holder as a later seeder needs them: their login and their card."""

    account_id: int
    email: str
    phone: str
    card_number: str


def demo_seed(session: Session, now: dt.datetime, env: DemoEnv) -> None:
    """Issue the queued cards of the drawn demo wave, ten minutes after its draw."""
    wave = selection.wave_by_code(session, env.found["wave.drawn"])
    issued_at = (wave.drawn_at or now) + dt.timedelta(minutes=10)
    report = bulk.issue_cards_for_wave(session, wave_id=wave.id, now=issued_at)
    env.found["cards.issued"] = str(report.issued)


def holders(session: Session, wave_code: str, count: int) -> list[Holder]:
    """The first `count` active card holders of the wave with a verified phone, in login
    order (deterministic for one draw)."""
    wave = selection.wave_by_code(session, wave_code)
    rows = session.execute(
        select(Account.id, Account.email, Account.phone, Card.number)
        .join(Person, Person.account_id == Account.id)
        .join(Card, Card.person_id == Person.id)
        .where(Card.wave_id == wave.id, Card.status == ACTIVE, Account.phone.is_not(None))
        .order_by(Account.id)
        .limit(count)
    )
    return [Holder(a, e, p or "", n) for a, e, p, n in rows]
