"""A citizen buys a course: card number + SMS code, then a ledger hold awaiting the platform.

`start_purchase` checks the rules and texts a 6-digit code to the verified phone;
`confirm_purchase` checks the code (three wrong codes lock the card's purchases for an hour),
re-checks the rules, takes a seat, stamps the card's first purchase (the one the revocation
deadline asks for: placed, not yet confirmed), holds the price on the card's account towards
the platform's payable account (key `order:<id>`) and tells the platform (`order.placed`).
Neither call is accepted once a card that bought nothing has passed its first-purchase
deadline. At most one open order per card is enforced by a unique index, so concurrent
purchases can never both succeed.
`cancel_voided_orders` cancels a placed order whose hold the wallet voided when it revoked or
closed the card before the platform confirmed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import NoReturn

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from prakerja.identity import tokens
from prakerja.identity.errors import CodeExpired, CountedRefusal, WrongCode
from prakerja.identity.model import Account
from prakerja.identity.service_codes import count_wrong_code
from prakerja.kit import notify
from prakerja.kit.clock import jakarta_date
from prakerja.kit.db import add_new, new_id
from prakerja.kit.i18n import gettext
from prakerja.kit.money import format_rupiah
from prakerja.marketplace import rules, service_catalogue, service_order, service_webhook
from prakerja.marketplace.model import (
    AWAITING_CODE,
    EXPIRED,
    PENDING,
    Course,
    Order,
    PurchaseCode,
)
from prakerja.wallet import cards, service_card
from prakerja.wallet import rules as ledger_rules
from prakerja.wallet import service as ledger
from prakerja.wallet.model_card import ACTIVE, Card

SMS = "Prakerja: code %(code)s to buy %(title)s for %(price)s. Never give this code to anyone."
_VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# The statements of the purchase calls, built once: building one (and its cache key) costs
# more CPU than running it. Each call reads what it needs in as few statements as it can: a
# round trip costs both this process and the database more than the read itself.
_LOCKED_UNTIL = (  # the card's purchase lock (the latest of its codes' locks)
    select(func.max(PurchaseCode.locked_until))
    .where(PurchaseCode.card_id == Card.id)
    .correlate(Card)  # not the order's own code, which _CARD_AND_ORDER joins
    .scalar_subquery()
)
_START_FACTS = service_card.of_account_query().add_columns(  # the card and all its rules need
    ledger.available_of(Card.ledger_account_id),
    _LOCKED_UNTIL,
    service_order.unfinished_of(Card.id),
    select(Order.id)
    .where(Order.card_id == Card.id, Order.idempotency_key == bindparam("key"))
    .scalar_subquery(),
)
_CARD_AND_ORDER = (  # the order, if it is on the card of the caller's person, with its code
    service_card.of_account_query()
    .add_columns(Order, PurchaseCode, _LOCKED_UNTIL)
    .join(Order, Order.card_id == Card.id)
    .outerjoin(PurchaseCode, PurchaseCode.order_id == Order.id)
    .where(Order.public_id == bindparam("public_id"))
)
_CLAIM = (  # awaiting its code -> placed, once: a twin confirm's UPDATE matches no row
    update(Order)
    .where(Order.id == bindparam("order_id"), Order.status == AWAITING_CODE)
    .values(
        status=PENDING, placed_at=bindparam("placed_at"), voucher_code=bindparam("voucher_code")
    )
    .execution_options(synchronize_session=False)
)
_SET_HOLD = (
    update(Order)
    .where(Order.id == bindparam("order_id"))
    .values(hold_transfer_id=bindparam("hold_id"))
    .execution_options(synchronize_session=False)
)
_CODE_USED = (
    update(PurchaseCode)
    .where(PurchaseCode.id == bindparam("code_id"))
    .values(status="done")
    .execution_options(synchronize_session=False)
)
_COURSE_AND_PAYABLE = select(  # the course and its platform's payable account (NULL if none yet)
    Course, ledger.account_id_of(bindparam("payable_code"))
).where(Course.id == bindparam("course_id"))


class PurchaseLocked(CountedRefusal):
    code = "purchase_locked"
    title = "Purchases with this card are locked for an hour after three wrong codes"
    kind = "rate"


def _usable(card: Card | None, card_number: str) -> Card:
    """The caller's card, if the number typed is its number and it can buy."""
    number = "".join(ch for ch in card_number if ch.isdigit())
    if (
        card is None
        or not tokens.same(card.number, number)
        or card.status != ACTIVE
        or card.ledger_account_id is None
    ):
        raise rules.CardNotUsable()
    return card


def _account_of(card: Card) -> int:
    if card.status != ACTIVE or card.ledger_account_id is None:
        raise rules.CardNotUsable()
    return card.ledger_account_id


def _refuse_if_too_late(card: Card, now: dt.datetime) -> None:
    """A card that bought nothing by its deadline is due for revocation (the daily scan may not
    have run yet): it buys nothing more. Read from the card row already loaded: no statement."""
    purchased = card.first_purchase_at is not None
    if cards.first_purchase_missed(card.first_purchase_deadline, purchased, jakarta_date(now)):
        raise rules.FirstPurchaseDeadlinePassed(deadline=card.first_purchase_deadline.isoformat())


def _refuse_if_locked(locked: dt.datetime | None, now: dt.datetime) -> None:
    if rules.is_locked(locked, now):
        raise PurchaseLocked(locked_until=locked.isoformat() if locked else "")


def start_purchase(
    session: Session,
    *,
    account_id: int,
    course_public_id: str,
    card_number: str,
    key: str,
    now: dt.datetime,
    batch: str | None = None,
) -> Order:
    """An order awaiting its SMS code, in the batch asked for (or the only one still open); a
    retry with the same key returns it and sends nothing."""
    account = session.get(Account, account_id)
    if account is None or account.phone is None or account.phone_verified_at is None:
        raise rules.PhoneNotVerified()
    facts = session.execute(_START_FACTS, {"account_id": account_id, "key": key}).one_or_none()
    card, available, locked, unfinished, keyed = facts if facts else (None,) * 5
    card = _usable(card, card_number)
    course = service_catalogue.course_on_sale(session, course_public_id)
    if keyed is not None:
        existing = session.get_one(Order, keyed)
        if existing.course_id != course.id:
            raise rules.OrderStateConflict("this idempotency key was used for another course")
        return existing
    _refuse_if_too_late(card, now)
    _refuse_if_locked(locked, now)
    if available is None:  # the card names an account that does not exist
        raise rules.CardNotUsable()
    rules.check_purchase(
        price=course.price, available=int(available), has_unfinished=bool(unfinished)
    )
    # a self-paced course has no sessions, so no batch (and no statement to find one)
    starts = (
        {} if course.mode == "self_paced" else service_catalogue.batch_starts(session, course.id)
    )
    chosen = rules.pick_batch(starts, batch, now)
    return _open_order(
        session, card, course, key, now, batch=chosen, phone=account.phone, lang=account.language
    )


def _open_order(
    session: Session,
    card: Card,
    course: Course,
    key: str,
    now: dt.datetime,
    *,
    batch: str | None,
    phone: str,
    lang: str,
) -> Order:
    """The order awaiting its code, the code's challenge, and the SMS to `phone` that carries
    the code."""
    order = Order(
        public_id=new_id(),
        card_id=card.id,
        course_id=course.id,
        platform_id=course.platform_id,
        amount=course.price,
        batch=batch,
        status=AWAITING_CODE,
        idempotency_key=key,
        created_at=now,
    )
    add_new(session, order)
    code = tokens.new_code()
    challenge = PurchaseCode(
        order_id=order.id,
        card_id=card.id,
        attempts=0,
        status="open",
        code_hash=tokens.code_hash("purchase", order.id, code),
        expires_at=now + rules.CODE_TTL,
        created_at=now,
    )
    add_new(session, challenge)
    notify.send_sms(
        session,
        to=phone,
        now=now,
        body=gettext(
            lang,
            SMS,
            code=code,
            title=course.title[:60],
            price=format_rupiah(course.price, lang),
        ),
    )
    return order


def order_of_account(session: Session, account_id: int, public_id: str) -> Order:
    """The citizen's own order (anyone else's is 'not found')."""
    return _confirm_facts(session, account_id, public_id)[0]


def _confirm_facts(
    session: Session, account_id: int, public_id: str
) -> tuple[Order, Card, PurchaseCode | None, dt.datetime | None]:
    """The caller's order, its card, its SMS code challenge and the card's purchase lock, read
    together (one snapshot: a code a twin confirm used comes with the order it placed)."""
    row = session.execute(
        _CARD_AND_ORDER, {"public_id": public_id, "account_id": account_id}
    ).one_or_none()
    if row is None:
        raise rules.OrderNotFound()
    card, order, challenge, locked = row
    return order, card, challenge, locked


def confirm_purchase(
    session: Session, *, account_id: int, order_public_id: str, code: str, now: dt.datetime
) -> Order:
    """Place the order with a right code; a repeat after success returns the placed order."""
    order, card, challenge, locked = _confirm_facts(session, account_id, order_public_id)
    if order.status != AWAITING_CODE:
        if order.status == EXPIRED:
            raise CodeExpired()
        return order
    _refuse_if_locked(locked, now)
    if challenge is None or challenge.status != "open" or challenge.expires_at <= now:
        # only an order still awaiting its code expires: never a lost update over a placed one
        session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == AWAITING_CODE)
            .values(status=EXPIRED)
            .execution_options(synchronize_session=False)
        )
        raise CodeExpired()
    expected = tokens.code_hash("purchase", order.id, code.strip())
    if not tokens.same(expected, challenge.code_hash):
        _wrong_code(session, challenge, now)
    session.execute(_CODE_USED, {"code_id": challenge.id})
    set_committed_value(challenge, "status", "done")
    _place(session, order, card, now)
    return order


def _wrong_code(session: Session, challenge: PurchaseCode, now: dt.datetime) -> NoReturn:
    counted = count_wrong_code(
        session, challenge, max_tries=rules.CODE_MAX_TRIES, lock_until=now + rules.CODE_LOCK
    )
    if counted is None:  # a parallel guess used up the tries (or the code) meanwhile
        session.refresh(challenge)
        _refuse_if_locked(challenge.locked_until, now)
        raise CodeExpired()
    if counted >= rules.CODE_MAX_TRIES:
        locked = challenge.locked_until
        raise PurchaseLocked(locked_until=locked.isoformat() if locked else "")
    raise WrongCode(tries_left=rules.CODE_MAX_TRIES - counted)


def _place(session: Session, order: Order, card: Card, now: dt.datetime) -> None:
    """Seat, hold and status in one savepoint: a refusal leaves nothing behind. `card` is the
    order's card as this transaction read it a moment ago (`_confirm_facts`)."""
    payable_code = f"platform:{order.platform_id}"
    found = session.execute(
        _COURSE_AND_PAYABLE, {"course_id": order.course_id, "payable_code": payable_code}
    ).one_or_none()
    if found is None:
        raise rules.CourseNotFound()
    course, payable = found
    account_id = _account_of(card)
    _refuse_if_too_late(card, now)  # the code may come in after the deadline's last minute
    voucher = _voucher()
    with session.begin_nested():
        try:  # first: the one-open-order index makes a concurrent twin wait here, then fail
            claimed = session.execute(
                _CLAIM, {"order_id": order.id, "placed_at": now, "voucher_code": voucher}
            )
        except IntegrityError:
            raise rules.UnfinishedCourse() from None
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            # The same order's twin confirm placed it first, seat, hold and webhook included:
            # answer what it wrote and add nothing.
            session.refresh(order)
            if order.status == EXPIRED:
                raise CodeExpired()
            return
        for column, value in (("status", PENDING), ("placed_at", now), ("voucher_code", voucher)):
            set_committed_value(order, column, value)  # what the UPDATE wrote; no re-read
        if course.status != "approved":
            raise rules.CourseNotOnSale()
        service_catalogue.take_seat(session, course, order.batch)
        # The card before its account, as revocation locks them: never a deadlock between them.
        service_card.record_purchase_placed(session, card=card, now=now)
        if payable is None:  # the platform's first sale
            payable = ledger.open_account_id(session, code=payable_code, kind="platform", now=now)
        try:  # the hold's guarded UPDATE is the balance check (also against concurrent spends)
            hold = ledger.hold(
                session,
                key=f"order:{order.id}",
                from_id=account_id,
                to_id=payable,
                amount=order.amount,
                kind="purchase",
                now=now,
                meta={"order_id": order.id, "course_id": course.id},
                savepoint=False,  # this one undoes a refusal
            )
        except ledger_rules.InsufficientBalance:
            _, available = ledger.balance(session, account_id)
            raise rules.PriceAboveBalance(price=order.amount, available=available) from None
        session.execute(_SET_HOLD, {"order_id": order.id, "hold_id": hold.id})
        set_committed_value(order, "hold_transfer_id", hold.id)
    service_webhook.emit(
        session,
        partner_id=order.platform_id,
        event="order.placed",
        data=service_order.order_document(session, order),
        now=now,
    )


def _voucher() -> str:
    return "PK" + "".join(secrets.choice(_VOUCHER_ALPHABET) for _ in range(10))


def orders_of_account(session: Session, account_id: int) -> list[Order]:
    card = service_card.card_for_account(session, account_id)
    if card is None:
        return []
    return list(
        session.scalars(
            select(Order)
            .where(Order.card_id == card.id, Order.status != AWAITING_CODE)
            .order_by(Order.id.desc())
        )
    )


def cancel_voided_orders(
    session: Session, *, hold_transfer_ids: list[int], reason: str, now: dt.datetime
) -> list[Order]:
    """Cancel the placed orders whose holds the wallet voided because their card was revoked or
    closed (job `marketplace.cancel_voided_orders`): the same path as a cancellation by the
    selling platform (the void is a no-op, the seat is released, `order.cancelled` carries
    `reason`). Only pending orders are touched: a voided hold can no longer be confirmed, and a
    rerun finds the orders cancelled and changes nothing."""
    return service_order.cancel_pending_as_platform(
        session, Order.hold_transfer_id.in_(hold_transfer_ids), reason=reason, now=now
    )
