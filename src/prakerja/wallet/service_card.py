"""Card use-cases: issue, record purchase and course progress, revoke, sweep. All idempotent.

Money moves only through the ledger (`service`): issuance is a transfer `budget -> card:<id>`
with key `issue:<application_id>`; revocation and sweeps move what is left to `treasury` with key
`sweep:<card_id>` after voiding pending holds; a refund that reaches a card no longer active
goes on to the treasury at once (`refund_purchase`), so such a card's account is always empty.
Services flush, never commit.

The only holds on a card are marketplace orders awaiting the platform's confirmation. Voiding
them enqueues `marketplace.cancel_voided_orders` in the same transaction (see `_void_holds`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from babel.dates import format_date
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from prakerja.identity.model import Account
from prakerja.kit import audit, jobs, notify
from prakerja.kit.clock import jakarta_date
from prakerja.kit.db import lock_for_update
from prakerja.kit.errors import Conflict, NotFound
from prakerja.kit.i18n import gettext
from prakerja.kit.money import format_rupiah
from prakerja.registration import policy as policy_rules
from prakerja.registration import service_eligibility
from prakerja.registration.model import Person
from prakerja.registration.model_policy import ListedPerson
from prakerja.registration.policy import PolicyRules
from prakerja.wallet import cards
from prakerja.wallet import service as ledger
from prakerja.wallet.model import PENDING, Transfer
from prakerja.wallet.model_card import ACTIVE, CLOSED, REVOKED, Card

log = structlog.get_logger("prakerja.wallet")

BUDGET, TREASURY = "budget", "treasury"
BLACKLIST_SOURCE = "prakerja revocation"
SYSTEM = "system:wallet"
CANCEL_VOIDED_ORDERS = "marketplace.cancel_voided_orders"  # handled in marketplace/jobs.py
SMS_SELECTED = (
    "Kartu Prakerja: you are selected. Card %(number)s, training balance "
    "%(balance)s. Buy your first course by %(deadline)s."
)
SMS_REMINDER = (
    "Kartu Prakerja: buy your first course by %(deadline)s or card %(number)s is revoked."
)
SMS_REVOKED = (
    "Kartu Prakerja: card %(number)s is revoked because no course was bought by the "
    "deadline. The balance went back to the state."
)


class CardNotFound(NotFound):
    code = "card_not_found"
    title = "No such card"


class AlreadyHoldsCard(Conflict):
    code = "already_holds_card"
    title = "This person already holds a Prakerja card (one per lifetime)"


class CardNotActive(Conflict):
    code = "card_not_active"
    title = "The card is no longer active"


class UnknownPerson(NotFound):
    code = "unknown_person"
    title = "No such person"


def policy_for(session: Session, policy_version_id: int | None) -> PolicyRules:
    """The wave's rules; a null version means the "2023+" preset."""
    if policy_version_id is None:
        return policy_rules.PRESETS["2023+"]
    return service_eligibility.rules_of(service_eligibility.get_version(session, policy_version_id))


def system_accounts(session: Session, now: dt.datetime) -> tuple[int, int]:
    """(budget id, treasury id), created on first use."""
    budget = ledger.open_account(session, code=BUDGET, kind="budget", now=now, allow_negative=True)
    treasury = ledger.open_account(session, code=TREASURY, kind="treasury", now=now)
    return budget.id, treasury.id


def card_for_person(session: Session, person_id: int) -> Card | None:
    """The person's card (at most one, ever), in any status."""
    return session.scalar(select(Card).where(Card.person_id == person_id))


_CARD_OF_ACCOUNT = (  # built once: every purchase call asks it
    select(Card)
    .join(Person, Person.id == Card.person_id)
    .where(Person.account_id == bindparam("account_id"))
)


def of_account_query() -> Select[Card]:
    """SELECT of the card of the person behind login account `:account_id`, for a caller to
    extend with its own columns."""
    return _CARD_OF_ACCOUNT


def card_for_account(session: Session, account_id: int) -> Card | None:
    """The card of the person behind a login account, if any."""
    return session.scalar(_CARD_OF_ACCOUNT, {"account_id": account_id})


def get_card(session: Session, card_id: int, *, lock: bool = False) -> Card:
    """A card by id (row-locked on PostgreSQL with `lock`), or CardNotFound."""
    stmt = select(Card).where(Card.id == card_id)
    card = session.scalar(lock_for_update(session, stmt) if lock else stmt)
    if card is None:
        raise CardNotFound()
    return card


def _unused_number(session: Session) -> str:
    while True:  # a collision in 10**14 is rare; the unique index is the final guard
        number = cards.new_card_number()
        if session.scalar(select(Card.id).where(Card.number == number)) is None:
            return number


def sms_date(day: dt.date, lang: str) -> str:
    """A deadline as people read it ("15 Juni 2026")."""
    return format_date(day, format="long", locale="id_ID" if lang == "id" else "en_US")


def sms_text(lang: str, message: str, **params: object) -> str:
    """An SMS in the holder's language (dates and rupiah formatted for people)."""
    values = {k: sms_date(v, lang) if isinstance(v, dt.date) else v for k, v in params.items()}
    if isinstance(values.get("balance"), int):
        values["balance"] = format_rupiah(int(values["balance"]), lang)  # type: ignore[call-overload]
    return gettext(lang, message, **values)


def _sms(
    session: Session, person_id: int, message: str, now: dt.datetime, **params: object
) -> None:
    row = session.execute(
        select(Account.phone, Account.language)
        .join(Person, Person.account_id == Account.id)
        .where(Person.id == person_id)
    ).one_or_none()
    if row is None or not row.phone:
        log.info("card_sms_skipped", person_id=person_id, reason="no_phone")
        return
    lang = "en" if row.language == "en" else "id"
    notify.send_sms(session, to=row.phone, body=sms_text(lang, message, **params), now=now)


def issue_card(
    session: Session,
    *,
    application_id: int,
    person_id: int,
    wave_id: int,
    policy_version_id: int | None,
    now: dt.datetime,
) -> Card:
    """One card per application and per person, credited once with the policy's balance; a
    repeat returns the existing card and changes nothing."""
    existing = session.scalar(select(Card).where(Card.application_id == application_id))
    if existing is not None:
        if existing.person_id != person_id:
            raise Conflict("This application already has a card for another person")
        return existing
    if card_for_person(session, person_id) is not None:
        raise AlreadyHoldsCard()
    if session.get(Person, person_id) is None:
        raise UnknownPerson()
    rules = policy_for(session, policy_version_id)
    due = cards.deadlines_at_issue(rules, now)
    card = Card(
        number=_unused_number(session),
        person_id=person_id,
        wave_id=wave_id,
        application_id=application_id,
        policy_version_id=policy_version_id,
        status=ACTIVE,
        issued_at=now,
        first_purchase_deadline=due.first_purchase,
        reminder_on=due.reminder_on,
    )
    session.add(card)
    session.flush()
    account = ledger.open_account(session, code=f"card:{card.id}", kind="recipient", now=now)
    card.ledger_account_id = account.id
    budget_id, _ = system_accounts(session, now)
    if rules.training_balance > 0:
        ledger.transfer(
            session,
            key=f"issue:{application_id}",
            from_id=budget_id,
            to_id=account.id,
            amount=rules.training_balance,
            kind="issue",
            now=now,
            meta={"card_id": card.id, "application_id": application_id},
        )
    session.flush()
    _sms(
        session,
        person_id,
        SMS_SELECTED,
        now,
        number=card.number,
        balance=rules.training_balance,
        deadline=due.first_purchase,
    )
    return card


_STAMP_FIRST_PURCHASE = (  # built once: it runs on the purchase path
    update(Card)
    .where(
        Card.id == bindparam("card_id"),
        Card.status == ACTIVE,
        Card.first_purchase_at.is_(None),
    )
    .values(first_purchase_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def record_purchase_placed(session: Session, *, card: Card, now: dt.datetime) -> None:
    """Stamp the first purchase when the citizen places it (code accepted, price held): that is
    the purchase the first-purchase deadline asks for, so a platform confirming it late, or a
    platform or provider cancelling it, can no longer get the card revoked. `card` is the row
    the caller has just read: nothing is read, and one UPDATE runs on the first purchase only.
    Refused (CardNotActive) if the card was revoked or closed meanwhile."""
    if card.first_purchase_at is not None:
        return
    stamped = session.execute(_STAMP_FIRST_PURCHASE, {"card_id": card.id, "now": now})
    if stamped.rowcount != 1:  # type: ignore[attr-defined]
        raise CardNotActive()
    set_committed_value(card, "first_purchase_at", now)


def record_first_course_finished(session: Session, *, card_id: int, now: dt.datetime) -> Card:
    """Stamp the first course finished and reviewed once; an active card gets the policy's
    spend-rest deadline (none under the 2020-22 rules)."""
    card = get_card(session, card_id, lock=True)
    if card.first_course_done_at is None:
        card.first_course_done_at = now
        if card.status == ACTIVE:
            rules = policy_for(session, card.policy_version_id)
            card.spend_rest_deadline = cards.spend_rest_deadline(rules, now)
        session.flush()
    return card


def _void_holds(
    session: Session, card_id: int, account_id: int, reason: str, now: dt.datetime
) -> int:
    """Void the card's pending holds and, if there were any, tell the marketplace in the same
    transaction by enqueuing `marketplace.cancel_voided_orders` with the voided transfer ids.

    Why a job: the journey runs wallet -> marketplace, so the wallet neither imports the
    marketplace nor knows its orders; cross-context effects go through jobs written in the
    caller's transaction (as selection enqueues `wallet.issue_card`), so the step cannot be lost
    and is retried until done. The money is settled here, atomically with the revocation or
    sweep: no hold outlives the card and `prakerja wallet check` is clean at every commit. The
    marketplace then cancels its own orders (status, seat, `order.cancelled` webhook) in its own
    handler; a platform confirming in between cannot post the voided hold and is refused.
    """
    pending = session.scalars(
        select(Transfer.id).where(
            Transfer.from_account_id == account_id, Transfer.status == PENDING
        )
    ).all()
    for transfer_id in pending:
        ledger.void(session, transfer_id=transfer_id, now=now)
    if pending:
        jobs.enqueue(
            session,
            CANCEL_VOIDED_ORDERS,
            {"card_id": card_id, "transfer_ids": list(pending), "reason": reason[:200]},
            now=now,
            key=f"holds_voided:{card_id}",  # a card is revoked or closed once
        )
    return len(pending)


def _sweep(session: Session, card: Card, reason: str, now: dt.datetime) -> int:
    """Void pending holds, then move the whole balance to the treasury; returns the amount.
    `reason` ("card_revoked:<why>", "card_closed:<why>") is what the marketplace tells
    platforms when it cancels the orders whose holds were voided."""
    if card.ledger_account_id is None:  # set when the card was issued; never None in practice
        raise CardNotActive("card has no ledger account")
    voided = _void_holds(session, card.id, card.ledger_account_id, reason, now)
    balance, _ = ledger.balance(session, card.ledger_account_id)
    if balance > 0:
        _, treasury_id = system_accounts(session, now)
        ledger.transfer(
            session,
            key=f"sweep:{card.id}",
            from_id=card.ledger_account_id,
            to_id=treasury_id,
            amount=balance,
            kind="sweep",
            now=now,
            meta={"card_id": card.id, "voided_holds": voided},
        )
    card.swept_at = now
    return balance


def refund_purchase(
    session: Session,
    *,
    card_id: int,
    transfer_id: int,
    now: dt.datetime,
    meta: dict[str, Any] | None = None,
) -> Transfer:
    """Return a posted purchase to the card by a reversing transfer (key `reversal:<id>`). A
    card no longer active keeps nothing: the refund goes on to the treasury in the same
    transaction (key `sweep:refund:<refund id>`, the card's status in its meta), as revoking or
    closing the card would have done, so a closed or revoked card's account stays empty.
    Repeating it changes nothing."""
    card = get_card(session, card_id, lock=True)  # first, as revoke and sweep lock: no deadlock
    refund = ledger.reverse(session, transfer_id=transfer_id, now=now, meta=meta)
    if card.status != ACTIVE:
        _sweep_refund(session, card, refund, now)
    return refund


def _sweep_refund(session: Session, card: Card, refund: Transfer, now: dt.datetime) -> None:
    if card.ledger_account_id != refund.to_account_id:
        raise Conflict("the refunded purchase was not paid from this card")
    _, treasury_id = system_accounts(session, now)
    ledger.transfer(
        session,
        key=f"sweep:refund:{refund.id}",
        from_id=refund.to_account_id,
        to_id=treasury_id,
        amount=refund.amount,
        kind="sweep",
        now=now,
        meta={
            "card_id": card.id,
            "refund_transfer_id": refund.id,
            "reason": f"refund_to_{card.status}_card",
        },
    )
    log.info("refund_swept", card_id=card.id, refund_transfer_id=refund.id, status=card.status)


def _blacklist(session: Session, person_id: int, reason: str, now: dt.datetime) -> None:
    person = session.get(Person, person_id)
    if person is None or not person.nik_bidx:
        log.warning("blacklist_skipped", person_id=person_id, reason="no_nik")
        return
    listed = session.scalar(
        select(ListedPerson.id).where(
            ListedPerson.list_kind == "blacklist",
            ListedPerson.nik_bidx == person.nik_bidx,
            ListedPerson.source == BLACKLIST_SOURCE,
        )
    )
    if listed is None:
        session.add(
            ListedPerson(
                list_kind="blacklist",
                nik_bidx=person.nik_bidx,
                kk_bidx=person.kk_bidx,
                source=BLACKLIST_SOURCE,
                reason=reason[:200],
                imported_at=now,
            )
        )


def revoke(
    session: Session, *, card_id: int, reason: str, now: dt.datetime, actor: str = SYSTEM
) -> Card:
    """Revoke once: status revoked, the person blacklisted for good, the available balance swept
    to the treasury, audited. A revoked card is returned unchanged; a closed one is refused."""
    card = get_card(session, card_id, lock=True)
    if card.status == REVOKED:
        return card
    if card.status != ACTIVE:
        raise CardNotActive()
    swept = _sweep(session, card, f"card_revoked:{reason}", now)
    card.status, card.revoked_at, card.revoke_reason = REVOKED, now, reason[:200]
    _blacklist(session, card.person_id, reason, now)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="card.revoke",
        target=f"card:{card.id}",
        now=now,
        data={"reason": reason[:200], "swept": swept},
    )
    _sms(session, card.person_id, SMS_REVOKED, now, number=card.number)
    return card


def sweep_remaining(
    session: Session, *, card_id: int, reason: str, now: dt.datetime, actor: str = SYSTEM
) -> Card:
    """Close an active card and sweep what is left (after voiding pending holds) to the
    treasury, audited; a card already closed or revoked is returned unchanged."""
    card = get_card(session, card_id, lock=True)
    if card.status != ACTIVE:
        return card
    swept = _sweep(session, card, f"card_closed:{reason}", now)
    card.status, card.closed_at, card.close_reason = CLOSED, now, reason[:40]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="card.sweep",
        target=f"card:{card.id}",
        now=now,
        data={"reason": reason[:40], "swept": swept},
    )
    return card


def send_reminder(session: Session, *, card_id: int, today: dt.date, now: dt.datetime) -> bool:
    """Send the first-purchase SMS reminder at most once, and only while it is due."""
    card = get_card(session, card_id, lock=True)
    if not cards.reminder_due(state_of(card), today):
        return False
    card.reminder_sent_at = now
    session.flush()
    _sms(
        session,
        card.person_id,
        SMS_REMINDER,
        now,
        number=card.number,
        deadline=card.first_purchase_deadline,
    )
    return True


def state_of(card: Card) -> cards.CardState:
    """The pure view of a card that the due-rules read."""
    return cards.CardState(
        status=card.status,
        first_purchase_deadline=card.first_purchase_deadline,
        reminder_on=card.reminder_on,
        reminder_sent=card.reminder_sent_at is not None,
        purchased=card.first_purchase_at is not None,
        spend_rest_deadline=card.spend_rest_deadline,
        issued_year=jakarta_date(card.issued_at).year,
    )


@dataclass(frozen=True)
class CardSummary:
    """What the citizen's card page and API show."""

    card: Card
    balance: int
    available: int
    next_step: str


def summary(session: Session, card: Card, today: dt.date) -> CardSummary:
    """Balance, available amount and the next thing the holder should do."""
    balance, available = (
        ledger.balance(session, card.ledger_account_id)
        if card.ledger_account_id is not None
        else (0, 0)
    )
    return CardSummary(card, balance, available, cards.next_step(state_of(card), today))
