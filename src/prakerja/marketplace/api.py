"""Citizen JSON API: search the catalogue, buy a course with the card number and an SMS code."""

from __future__ import annotations

from fastapi import Query
from sqlalchemy import bindparam, select

from prakerja.identity.deps import CurrentCitizen
from prakerja.identity.service import counting_refusals
from prakerja.kit.clock import utc_now
from prakerja.kit.money import MAX_RUPIAH
from prakerja.kit.routing import DbSession, new_router
from prakerja.marketplace import service_catalogue, service_purchase
from prakerja.marketplace.model import Course, Order
from prakerja.marketplace.schemas import CodeIn, CourseRead, OrderCreate, OrderRead

router = new_router(prefix="/api/v1", tags=["marketplace"])
_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Login required"},
    403: {"description": "Card or phone not usable"},
    404: {"description": "Not found"},
    409: {"description": "A purchase rule refused it"},
    422: {"description": "Invalid input or wrong code"},
    429: {"description": "Locked after three wrong codes"},
}


_COURSE_PUBLIC_ID = select(Course.public_id).where(Course.id == bindparam("course_id"))


def _read(session: DbSession, order: Order, course_public_id: str | None = None) -> OrderRead:
    public = course_public_id or session.scalar(_COURSE_PUBLIC_ID, {"course_id": order.course_id})
    return OrderRead.of(order, public or "")


@router.get("/courses")
def search_courses(
    session: DbSession,
    q: str = Query("", max_length=100),
    category: str = Query("", max_length=60),
    mode: str = Query("", max_length=12),
    max_price: int | None = Query(None, ge=0, le=MAX_RUPIAH),
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=100_000),
) -> list[CourseRead]:
    """Courses on sale, cheapest first (public)."""
    found = service_catalogue.search(
        session, q=q, category=category, mode=mode, max_price=max_price, limit=limit, offset=offset
    )
    return [CourseRead.of(c) for c in found]


@router.post("/orders", status_code=201, responses=_ERRORS)
def start_order(body: OrderCreate, session: DbSession, account: CurrentCitizen) -> OrderRead:
    """Start a purchase: an SMS code goes to your verified phone (same key: same order)."""
    order = service_purchase.start_purchase(
        session,
        account_id=account.id,
        course_public_id=body.course_id,
        card_number=body.card_number,
        key=body.idempotency_key,
        now=utc_now(),
        batch=body.batch,
    )
    return _read(session, order, body.course_id)  # start_purchase sold exactly this course


@router.post("/orders/{order_id}/confirm-code", responses=_ERRORS)
def confirm_code(
    order_id: str, body: CodeIn, session: DbSession, account: CurrentCitizen
) -> OrderRead:
    """Confirm the purchase with the SMS code: the price is held until the platform confirms."""
    with counting_refusals(session):
        order = service_purchase.confirm_purchase(
            session, account_id=account.id, order_public_id=order_id, code=body.code, now=utc_now()
        )
    return _read(session, order)


@router.get("/orders", responses=_ERRORS)
def my_orders(session: DbSession, account: CurrentCitizen) -> list[OrderRead]:
    """Your placed orders, newest first."""
    return [_read(session, o) for o in service_purchase.orders_of_account(session, account.id)]
