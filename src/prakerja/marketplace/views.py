"""Citizen pages (catalogue, course, buy with the SMS code, my orders) and the operators'
curation board and course assessment. Plain forms; no JavaScript needed."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from prakerja.identity.deps import CurrentCitizen, OptionalAccount, require_staff
from prakerja.identity.model import Account
from prakerja.identity.service import settle
from prakerja.kit import consoles
from prakerja.kit.clock import utc_now, wib
from prakerja.kit.errors import DomainError, http_status
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, csrf_protect, render, translate
from prakerja.learning import service_quality  # a course's rating: see _course_page
from prakerja.marketplace import rules, service_catalogue, service_partner, service_purchase
from prakerja.marketplace.model import Course, CourseSession, Partner
from prakerja.wallet import service as ledger
from prakerja.wallet import service_card

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)
curator = require_staff("operator")
Curator = Annotated[Account, Depends(curator)]
# Courses are judged by assessors (admins always may); operators and assessors see the board.
Assessor = Annotated[Account, Depends(require_staff("assessor"))]
COURSE_BOARD = ("operator", "assessor")
CourseBoard = Annotated[Account, Depends(require_staff(*COURSE_BOARD))]


def _partners_waiting(session: Session) -> int:
    stmt = select(func.count()).where(Partner.status.in_(("applied", "due_diligence")))
    return int(session.scalar(stmt) or 0)


def _courses_waiting(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Course.status == "submitted")) or 0)


consoles.register(
    "/admin/partners", "Partner curation", ("operator",), rank=30, waiting=_partners_waiting
)
consoles.register(
    "/admin/courses", "Course assessment", COURSE_BOARD, rank=30, waiting=_courses_waiting
)


async def _form(request: Request) -> FormData:
    return await request.form()  # parsed once; csrf_protect read the same cached form


Form = Annotated[FormData, Depends(_form)]


def _available(session: DbSession, account: Account | None) -> int | None:
    card = service_card.card_for_account(session, account.id) if account else None
    if card is None or card.ledger_account_id is None:
        return None
    return ledger.balance(session, card.ledger_account_id)[1]


def _price_cap(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


@router.get("/courses", response_class=HTMLResponse)
def catalogue(
    request: Request,
    session: DbSession,
    account: OptionalAccount,
    q: str = "",
    category: str = "",
    mode: str = "",
    max_price: str = "",
    within_balance: str = "",
) -> HTMLResponse:
    """Search the courses on sale; 'within my balance' uses the card's available balance."""
    available = _available(session, account)
    cap = _price_cap(max_price)
    if within_balance and available is not None:
        cap = available if cap is None else min(cap, available)
    courses = service_catalogue.search(
        session,
        q=q[:100],
        category=category[:60],
        mode=mode if mode in rules.MODES else "",
        max_price=cap,
        limit=50,
    )
    ratings = service_quality.public_ratings(session, [c.id for c in courses])
    return render(
        request,
        "marketplace/catalogue.html",
        {
            "courses": courses,
            "ratings": ratings,
            "categories": service_catalogue.categories(session),
            "modes": rules.MODES,
            "available": available,
            "f": {
                "q": q,
                "category": category,
                "mode": mode,
                "max_price": max_price,
                "within_balance": bool(within_balance),
            },
        },
    )


@dataclass(frozen=True)
class BatchView:
    """One batch (cohort) of a course as its page lists it: its sessions in Jakarta time."""

    name: str
    sessions: list[tuple[str, str | None]]  # ("15-12-2026 09:00 WIB", venue)
    joinable: bool


def _batches(sessions: list[CourseSession], now: dt.datetime) -> list[BatchView]:
    """The course's sessions grouped by batch, soonest batch first."""
    grouped: dict[str, list[CourseSession]] = {}
    for row in sessions:  # ordered by start
        grouped.setdefault(row.batch, []).append(row)
    joinable = set(rules.open_batches({b: rows[0].starts_at for b, rows in grouped.items()}, now))
    return [
        BatchView(
            name,
            [(wib(r.starts_at), r.venue) for r in rows],
            name in joinable,
        )
        for name, rows in grouped.items()
    ]


def _course_page(
    request: Request,
    session: DbSession,
    account: Account | None,
    course: Course,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    names = service_partner.names_of(session, [course.provider_id, course.platform_id])
    rating = service_quality.public_rating(session, course.id)
    return render(
        request,
        "marketplace/course.html",
        {
            "course": course,
            "provider": names.get(course.provider_id, ""),
            "platform": names.get(course.platform_id, ""),
            "rating": rating,
            "batches": _batches(service_catalogue.sessions_of(session, course.id), utc_now()),
            "available": _available(session, account),
            "error": error,
            "key": secrets.token_urlsafe(12),
        },
        status_code=status,
    )


@router.get("/courses/{public_id}", response_class=HTMLResponse)
def course_page(
    request: Request, session: DbSession, account: OptionalAccount, public_id: str
) -> HTMLResponse:
    return _course_page(
        request, session, account, service_catalogue.course_on_sale(session, public_id)
    )


@router.post("/courses/{public_id}/buy", response_class=HTMLResponse)
def buy(
    request: Request, session: DbSession, account: CurrentCitizen, form: Form, public_id: str
) -> Response:
    """Start a purchase; the SMS code page follows."""
    try:
        order = service_purchase.start_purchase(
            session,
            account_id=account.id,
            course_public_id=public_id,
            card_number=str(form.get("card_number", "")),
            key=str(form.get("key", ""))[:80] or secrets.token_urlsafe(12),
            now=utc_now(),
            batch=str(form["batch"])[:40] if "batch" in form else None,
        )
    except DomainError as exc:
        session.rollback()
        course = service_catalogue.course_on_sale(session, public_id)
        return _course_page(
            request, session, account, course, translate(exc.title), http_status(exc)
        )
    return RedirectResponse(f"/orders/{order.public_id}/code", status_code=303)


def _code_page(
    request: Request,
    session: DbSession,
    account: Account,
    public_id: str,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    order = service_purchase.order_of_account(session, account.id, public_id)
    course = session.get(Course, order.course_id)
    return render(
        request,
        "marketplace/code.html",
        {"order": order, "course": course, "error": error},
        status_code=status,
    )


@router.get("/orders/{public_id}/code", response_class=HTMLResponse)
def code_page(
    request: Request, session: DbSession, account: CurrentCitizen, public_id: str
) -> HTMLResponse:
    return _code_page(request, session, account, public_id)


@router.post("/orders/{public_id}/code", response_class=HTMLResponse)
def code_submit(
    request: Request, session: DbSession, account: CurrentCitizen, form: Form, public_id: str
) -> Response:
    """Confirm with the SMS code; wrong codes are counted even though the page re-renders."""
    try:
        service_purchase.confirm_purchase(
            session,
            account_id=account.id,
            order_public_id=public_id,
            code=str(form.get("code", ""))[:12],
            now=utc_now(),
        )
    except DomainError as exc:
        settle(session, exc)
        return _code_page(
            request, session, account, public_id, translate(exc.title), http_status(exc)
        )
    return RedirectResponse("/orders", status_code=303)


@router.get("/orders", response_class=HTMLResponse)
def my_orders(request: Request, session: DbSession, account: CurrentCitizen) -> HTMLResponse:
    orders = service_purchase.orders_of_account(session, account.id)
    ids = [o.course_id for o in orders]
    rows = session.execute(select(Course.id, Course.title).where(Course.id.in_(ids))).tuples().all()
    platforms = service_partner.names_of(session, [o.platform_id for o in orders])
    return render(
        request,
        "marketplace/orders.html",
        {"orders": orders, "titles": dict(rows), "platforms": platforms},
    )


# --- operators -------------------------------------------------------------------------------


def _board(
    request: Request, session: DbSession, error: str = "", status: int = 200
) -> HTMLResponse:
    partners = service_partner.list_partners(session)
    return render(
        request,
        "marketplace/admin_partners.html",
        {"partners": partners, "next_steps": rules.TRANSITIONS, "error": error},
        status_code=status,
    )


@router.get("/admin/partners", response_class=HTMLResponse)
def partners_board(request: Request, session: DbSession, staff: Curator) -> HTMLResponse:
    return _board(request, session)


def _staff_action(request: Request, session: DbSession, call: Any) -> Response:
    try:
        call()
    except DomainError as exc:
        session.rollback()
        return _board(request, session, f"{translate(exc.title)} ({exc.detail})", http_status(exc))
    return RedirectResponse("/admin/partners", status_code=303)


@router.post("/admin/partners", response_class=HTMLResponse)
def partner_apply(request: Request, session: DbSession, staff: Curator, form: Form) -> Response:
    """Register an applicant platform or provider."""
    return _staff_action(
        request,
        session,
        lambda: service_partner.apply(
            session,
            code=str(form.get("code", "")).strip(),
            name=str(form.get("name", "")),
            kind=str(form.get("kind", "")),
            webhook_url=str(form.get("webhook_url", "")) or None,
            actor=f"staff:{staff.public_id}",
            now=utc_now(),
        ),
    )


@router.post("/admin/partners/{partner_id}/advance", response_class=HTMLResponse)
def partner_advance(
    request: Request, session: DbSession, staff: Curator, form: Form, partner_id: RowId
) -> Response:
    """One curation step, audited under the operator's name."""
    return _staff_action(
        request,
        session,
        lambda: service_partner.advance(
            session,
            partner_id=partner_id,
            to=str(form.get("to", "")),
            note=str(form.get("note", ""))[:500],
            actor=f"staff:{staff.public_id}",
            now=utc_now(),
        ),
    )


@router.get("/admin/courses", response_class=HTMLResponse)
def courses_board(
    request: Request, session: DbSession, staff: CourseBoard, status: str = "submitted"
) -> HTMLResponse:
    courses = service_catalogue.list_courses(
        session, status if status in rules.COURSE_STATUSES else None
    )
    return render(
        request,
        "marketplace/admin_courses.html",
        {"courses": courses, "status": status, "can_assess": staff.has_role("assessor")},
    )


@router.post("/admin/courses/{course_id}/assess", response_class=HTMLResponse)
def course_assess(
    request: Request, session: DbSession, staff: Assessor, form: Form, course_id: RowId
) -> Response:
    """An assessor approves or rejects a submitted course (audited)."""
    service_catalogue.assess_course(
        session,
        course_id=course_id,
        approve=form.get("verdict") == "approve",
        actor=f"staff:{staff.public_id}",
        note=str(form.get("note", ""))[:500],
        now=utc_now(),
    )
    return RedirectResponse("/admin/courses", status_code=303)
