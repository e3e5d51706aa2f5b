"""Partner API (/api/partner/v1): signed requests from platforms and providers.

Every call is idempotent: a repeat changes nothing and answers the same; a call made out of order
(e.g. confirming a cancelled order) is a 409 problem+json naming the rule. Other contexts add
their partner endpoints in their own module with the same `PartnerAuth` dependency.
"""

from __future__ import annotations

from prakerja.kit.clock import utc_now
from prakerja.kit.routing import DbSession, new_router
from prakerja.marketplace import service_catalogue, service_order
from prakerja.marketplace.deps import PartnerAuth
from prakerja.marketplace.model import Order
from prakerja.marketplace.schemas import (
    CancelIn,
    CourseIn,
    CourseRead,
    PartnerOrderRead,
    PublishResult,
    SessionIn,
    SessionRead,
)

PREFIX = "/api/partner/v1"
router = new_router(prefix=PREFIX, tags=["partner"])
_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing, wrong, stale or replayed signature (problem+json)"},
    403: {"description": "Your partner status does not allow this call (problem+json)"},
    404: {"description": "Not found, or not yours"},
    409: {"description": "Out of order for the current state (problem+json)"},
    422: {"description": "Invalid input (problem+json)"},
}


def _order_read(session: DbSession, order: Order) -> PartnerOrderRead:
    return PartnerOrderRead(**service_order.order_document(session, order))


@router.post("/courses", responses=_ERRORS)
def publish_course(body: CourseIn, session: DbSession, partner: PartnerAuth) -> PublishResult:
    """Create or update one of your courses (keyed by `external_ref`); changes go to assessment."""
    course, changed = service_catalogue.publish_course(
        session, platform=partner, data=body.to_input(), now=utc_now()
    )
    return PublishResult(course=CourseRead.of(course), changed=changed)


@router.post("/courses/{course_id}/schedules", responses=_ERRORS)
def add_schedule(
    course_id: str, body: SessionIn, session: DbSession, partner: PartnerAuth
) -> SessionRead:
    """Create or move one session of your course (keyed by `external_ref`)."""
    row, changed = service_catalogue.add_session(
        session,
        platform=partner,
        course_public_id=course_id,
        external_ref=body.external_ref,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        venue=body.venue,
        now=utc_now(),
        batch=body.batch,
    )
    return SessionRead.of(row, changed)


@router.post("/orders/{order_id}/confirm", responses=_ERRORS)
def confirm_order(order_id: str, session: DbSession, partner: PartnerAuth) -> PartnerOrderRead:
    """Accept a placed order: the price is paid from the card's hold to your payable account."""
    order = service_order.confirm_order(
        session, partner=partner, order_public_id=order_id, now=utc_now()
    )
    return _order_read(session, order)


@router.post("/orders/{order_id}/cancel", responses=_ERRORS)
def cancel_order(
    order_id: str, body: CancelIn, session: DbSession, partner: PartnerAuth
) -> PartnerOrderRead:
    """Cancel an order (platform or provider): the citizen's balance is restored in full."""
    order = service_order.cancel_order(
        session, partner=partner, order_public_id=order_id, reason=body.reason, now=utc_now()
    )
    return _order_read(session, order)


@router.post("/vouchers/{code}/redeem", responses=_ERRORS)
def redeem_voucher(code: str, session: DbSession, partner: PartnerAuth) -> PartnerOrderRead:
    """Mark the voucher of a confirmed order as used on your platform."""
    order = service_order.redeem_voucher(session, partner=partner, code=code, now=utc_now())
    return _order_read(session, order)
