"""Orders after placement: the partner confirms (post the hold), cancels (void or refund),
redeems the voucher; learning marks an order completed; the programme cancels an order its
platform left unconfirmed too long. Every call is idempotent: a repeat
changes nothing and answers the same; a call out of order is a clear conflict.

Each step flips the status in one guarded UPDATE (`WHERE status = <expected>`), so two
concurrent calls cannot both move money.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Exists, bindparam, exists, select, update
from sqlalchemy.orm import QueryableAttribute, Session

from prakerja.marketplace import rules, service_catalogue, service_webhook
from prakerja.marketplace.model import (
    CANCELLED,
    COMPLETED,
    CONFIRMED,
    OPEN_ORDER_STATUSES,
    PENDING,
    REFUNDED,
    Course,
    Order,
    Partner,
)
from prakerja.wallet import service as ledger
from prakerja.wallet import service_card

NOT_CONFIRMED = "not_confirmed_by_platform"  # the reason `order.cancelled` gives the platform


def unfinished_of(card_id: ColumnElement[Any] | QueryableAttribute[Any]) -> Exists:
    """EXISTS an order placed or confirmed and not yet completed on the card `card_id`."""
    return exists().where(Order.card_id == card_id, Order.status.in_(OPEN_ORDER_STATUSES))


_HAS_UNFINISHED = select(unfinished_of(bindparam("card_id")))  # built once


def has_unfinished_course(session: Session, card_id: int) -> bool:
    """True while the card has an order placed or confirmed and not yet completed."""
    return bool(session.scalar(_HAS_UNFINISHED, {"card_id": card_id}))


def order_document(session: Session, order: Order) -> dict[str, Any]:
    """What partners see of an order (no personal data beyond the voucher)."""
    course = session.get(Course, order.course_id)
    if course is None:
        raise rules.CourseNotFound()
    return {
        "order_id": order.public_id,
        "status": order.status,
        "amount": order.amount,
        "course_id": course.public_id,
        "course_ref": course.external_ref,
        "voucher_code": order.voucher_code,
        "voucher_redeemed": order.voucher_redeemed_at is not None,
        "placed_at": order.placed_at.isoformat() if order.placed_at else None,
        "batch": order.batch,
    }


def _partner_order(session: Session, partner: Partner, public_id: str) -> Order:
    order = session.scalar(select(Order).where(Order.public_id == public_id))
    if order is None:
        raise rules.OrderNotFound()
    if order.platform_id != partner.id:
        provider = session.scalar(select(Course.provider_id).where(Course.id == order.course_id))
        if provider != partner.id:
            raise rules.OrderNotFound()  # never reveal other partners' orders
    return order


def _hold_of(order: Order) -> int:
    if order.hold_transfer_id is None:  # every placed order has one; defensive for old rows
        raise rules.OrderStateConflict("the order has no ledger hold")
    return order.hold_transfer_id


def _flip(session: Session, order: Order, before: str, after: str, **values: Any) -> bool:
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == before)
        .values(status=after, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def confirm_order(
    session: Session, *, partner: Partner, order_public_id: str, now: dt.datetime
) -> Order:
    """The platform accepted the purchase: the hold is posted. (The card's first purchase was
    stamped when the citizen placed the order: a late confirmation changes nothing there.)
    A suspended platform may not confirm: the order waits, and is cancelled if it waits too
    long (`cancel_unconfirmed_orders`)."""
    rules.check_may_trade(partner.status)
    order = _partner_order(session, partner, order_public_id)
    if order.platform_id != partner.id:
        raise rules.OrderNotFound()  # only the selling platform confirms
    if rules.confirm_outcome(order.status) == "same":
        return order
    if not _flip(session, order, PENDING, CONFIRMED, confirmed_at=now):
        return confirm_order(session, partner=partner, order_public_id=order_public_id, now=now)
    ledger.post(session, transfer_id=_hold_of(order), now=now)
    return order


def cancel_order(
    session: Session, *, partner: Partner, order_public_id: str, reason: str, now: dt.datetime
) -> Order:
    """Platform or provider cancels: a pending hold is voided, a confirmed purchase refunded by
    a reversing transfer (on to the treasury if the card was revoked or closed meanwhile); the
    seat is released and the platform told (`order.cancelled`)."""
    rules.check_may_cancel(partner.kind)
    order = _partner_order(session, partner, order_public_id)
    outcome = rules.cancel_outcome(order.status)
    if outcome == "same":
        return order
    after = CANCELLED if outcome == "void" else REFUNDED
    before = PENDING if outcome == "void" else CONFIRMED
    if not _flip(session, order, before, after, closed_at=now, cancel_reason=reason[:200]):
        return cancel_order(
            session, partner=partner, order_public_id=order_public_id, reason=reason, now=now
        )
    if outcome == "void":
        ledger.void(session, transfer_id=_hold_of(order), now=now)
    else:  # the wallet sends a refund to a card no longer active on to the treasury
        refund = service_card.refund_purchase(
            session,
            card_id=order.card_id,
            transfer_id=_hold_of(order),
            now=now,
            meta={"order_id": order.id, "reason": reason[:200]},
        )
        order.refund_transfer_id = refund.id
    service_catalogue.release_seat(session, order.course_id, order.batch)
    session.flush()
    service_webhook.emit(
        session,
        partner_id=order.platform_id,
        event="order.cancelled",
        data=order_document(session, order) | {"reason": reason[:200]},
        now=now,
    )
    return order


def cancel_pending_as_platform(
    session: Session, *where: ColumnElement[bool], reason: str, now: dt.datetime
) -> list[Order]:
    """Cancel the pending orders matching `where` as their selling platform would (the hold
    voided, the seat released, `order.cancelled` carrying `reason`); orders no longer pending
    are left alone, so a rerun changes nothing."""
    rows = session.execute(
        select(Order, Partner)
        .join(Partner, Partner.id == Order.platform_id)
        .where(Order.status == PENDING, *where)
        .order_by(Order.id)
    ).all()
    return [
        cancel_order(
            session, partner=platform, order_public_id=order.public_id, reason=reason, now=now
        )
        for order, platform in rows
    ]


def cancel_unconfirmed_orders(session: Session, *, now: dt.datetime) -> list[Order]:
    """Cancel the orders their platform has left unconfirmed for longer than
    `rules.CONFIRM_WITHIN` (daily job `marketplace.cancel_unconfirmed_orders`): the citizen's
    money and seat come back; their first purchase stays recorded, so they are not revoked."""
    return cancel_pending_as_platform(
        session, Order.placed_at < now - rules.CONFIRM_WITHIN, reason=NOT_CONFIRMED, now=now
    )


def redeem_voucher(session: Session, *, partner: Partner, code: str, now: dt.datetime) -> Order:
    """The platform redeemed the citizen's voucher (once; a repeat answers the same); not by a
    suspended platform."""
    rules.check_may_trade(partner.status)
    order = session.scalar(
        select(Order).where(
            Order.voucher_code == code.strip().upper(), Order.platform_id == partner.id
        )
    )
    if order is None:
        raise rules.VoucherNotFound()
    if rules.redeem_outcome(order.status, order.voucher_redeemed_at is not None) == "redeem":
        session.execute(
            update(Order)
            .where(Order.id == order.id, Order.voucher_redeemed_at.is_(None))
            .values(voucher_redeemed_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(order)
    return order


def mark_order_completed(session: Session, *, order_id: int, now: dt.datetime) -> Order:
    """Learning's call when the course is finished; completing twice changes nothing."""
    order = session.get(Order, order_id)
    if order is None:
        raise rules.OrderNotFound()
    if order.status == COMPLETED:
        return order
    if order.status != CONFIRMED:
        raise rules.OrderStateConflict(f"an order that is {order.status} cannot be completed")
    if not _flip(session, order, CONFIRMED, COMPLETED, closed_at=now):
        return mark_order_completed(session, order_id=order_id, now=now)
    return order


def get_order(session: Session, order_id: int) -> Order:
    """An order by its internal id (for learning)."""
    order = session.get(Order, order_id)
    if order is None:
        raise rules.OrderNotFound()
    return order
