"""Learning pages: the citizen's courses (redeem codes and windows, the session face check,
completion, certificate download and the mandatory review), the public certificate
verification page, and the operators' course quality board. Plain forms; no JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from prakerja.identity.deps import CurrentCitizen, require_staff
from prakerja.identity.model import Account
from prakerja.kit import consoles
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import DomainError, NotFound, http_status
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, csrf_protect, render, translate
from prakerja.learning import (
    api,
    certificates,
    rules,
    service_attendance,
    service_completion,
    service_quality,
    service_review,
)
from prakerja.learning.model import Certificate, CourseQuality
from prakerja.learning.service_enrolment import citizen_order, enrolments
from prakerja.marketplace.model import CourseSession
from prakerja.settings import get_settings
from prakerja.wallet import service_card

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)
QUALITY_READERS = ("operator", "analyst")
QualityReader = Annotated[Account, Depends(require_staff(*QUALITY_READERS))]


def _flagged_courses(session: Session) -> int:
    stmt = select(func.count()).where(CourseQuality.flags != "")
    return int(session.scalar(stmt) or 0)


consoles.register(
    "/admin/quality", "Course quality", QUALITY_READERS, rank=40, waiting=_flagged_courses
)
FACE_REASONS = {
    "no_blink": "Blink while the photo is taken and tick the box.",
    "face_not_matching": "The face does not match the one we have on record.",
    "low_quality": "The photo is not clear enough. Use good light.",
}


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def _learning_page(
    request: Request, session: DbSession, account: Account, error: str = "", status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "learning/courses.html",
        {"enrolments": enrolments(session, account_id=account.id, now=utc_now()), "error": error},
        status_code=status,
    )


@router.get("/learning", response_class=HTMLResponse)
def my_learning(request: Request, session: DbSession, account: CurrentCitizen) -> HTMLResponse:
    """My courses: sessions, redeem codes, progress, completion, certificate, review."""
    return _learning_page(request, session, account)


def _face_page(
    request: Request,
    session: DbSession,
    account: Account,
    order_id: str,
    session_id: int,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    order, course = citizen_order(session, account.id, order_id)
    row = session.get(CourseSession, session_id)
    if row is None or row.course_id != course.id:
        raise rules.EnrolmentNotFound()
    found = [
        s
        for e in enrolments(session, account_id=account.id, now=utc_now())
        if e.order.id == order.id
        for s in e.sessions
        if s.row.id == session_id
    ]
    view = found[0] if found else None
    attendance = view.attendance if view else None
    return render(
        request,
        "learning/face.html",
        {
            "order": order,
            "course": course,
            "view": view,
            "error": error,
            "reason": FACE_REASONS.get((attendance.face_reason if attendance else "") or "", ""),
            "attempts_left": rules.FACE_ATTEMPTS - (attendance.face_attempts if attendance else 0),
        },
        status_code=status,
    )


@router.get("/learning/{order_id}/sessions/{session_id}/face", response_class=HTMLResponse)
def face_page(
    request: Request, session: DbSession, account: CurrentCitizen, order_id: str, session_id: RowId
) -> HTMLResponse:
    return _face_page(request, session, account, order_id, session_id)


@router.post("/learning/{order_id}/sessions/{session_id}/face", response_class=HTMLResponse)
async def face_submit(
    request: Request,
    session: DbSession,
    account: CurrentCitizen,
    form: Form,
    order_id: str,
    session_id: RowId,
) -> Response:
    """Run the face check for one session (within its redeem window)."""
    photo = form.get("photo")
    image = (
        await photo.read(get_settings().upload_max_bytes + 1)
        if isinstance(photo, UploadFile)
        else b""
    )
    if not image or len(image) > get_settings().upload_max_bytes:
        return _face_page(
            request,
            session,
            account,
            order_id,
            session_id,
            translate("Choose a JPEG or PNG photo of at most 2 MB."),
            422,
        )
    try:
        service_attendance.face_check(
            session,
            account_id=account.id,
            order_public_id=order_id,
            session_id=session_id,
            image=image,
            blink=form.get("blink") == "yes",
            now=utc_now(),
        )
    except DomainError as exc:
        session.rollback()
        return _face_page(
            request, session, account, order_id, session_id, translate(exc.title), http_status(exc)
        )
    return _face_page(request, session, account, order_id, session_id)


@router.post("/learning/{order_id}/review", response_class=HTMLResponse)
def review_submit(
    request: Request, session: DbSession, account: CurrentCitizen, form: Form, order_id: str
) -> Response:
    """The mandatory rating and review of a completed course."""
    raw = str(form.get("stars", ""))
    try:
        service_review.submit_review(
            session,
            account_id=account.id,
            order_public_id=order_id,
            stars=int(raw) if raw.isdigit() else 0,
            text=str(form.get("text", ""))[:4000],
            now=utc_now(),
        )
    except DomainError as exc:
        session.rollback()
        return _learning_page(request, session, account, translate(exc.title), http_status(exc))
    return RedirectResponse("/learning", status_code=303)


def _own_certificate(session: DbSession, account: Account, public_id: str) -> Certificate:
    cert = service_completion.certificate_by_public_id(session, public_id)
    card = service_card.card_for_account(session, account.id)
    if card is None or card.person_id != cert.person_id:
        raise rules.CertificateNotFound()  # another person's certificate: not found
    return cert


@router.get("/learning/certificates/{public_id}.pdf")
def certificate_pdf(session: DbSession, account: CurrentCitizen, public_id: str) -> Response:
    """Your certificate as a PDF, rebuilt from its signed facts."""
    cert = _own_certificate(session, account, public_id)
    valid, facts = service_completion.check_certificate(cert)
    if not valid:
        raise NotFound("This certificate failed its signature check; contact us.")
    pdf = certificates.render_pdf(facts, cert.key_id, cert.signature)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="sertifikat-{public_id}.pdf"'},
    )


@router.get("/learning/certificates/{public_id}/badge.json")
def certificate_badge(session: DbSession, account: CurrentCitizen, public_id: str) -> Response:
    """Your Open Badges 3.0 credential, byte for byte as signed."""
    cert = _own_certificate(session, account, public_id)
    return Response(
        cert.badge_json.encode(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="badge-{public_id}.json"'},
    )


@router.get("/certificates/{public_id}", response_class=HTMLResponse)
def verify_page(request: Request, session: DbSession, public_id: str) -> HTMLResponse:
    """Public: is this certificate genuine? Shows course, provider, date and a masked name."""
    result = api.verification(session, public_id[:64])
    exists = session.scalar(select(Certificate.id).where(Certificate.public_id == public_id[:64]))
    return render(
        request, "learning/verify.html", {"v": result}, status_code=200 if exists else 404
    )


@router.get("/admin/quality", response_class=HTMLResponse)
def quality_board(request: Request, session: DbSession, staff: QualityReader) -> HTMLResponse:
    """Course quality: rating, completion, learning gain, complaints; providers ranked."""
    return render(
        request,
        "learning/quality.html",
        {
            "courses": service_quality.course_board(session),
            "providers": service_quality.provider_ranking(session),
        },
    )


@router.post("/admin/quality/refresh", response_class=HTMLResponse)
def quality_refresh(session: DbSession, staff: QualityReader) -> Response:
    service_quality.refresh_quality(session, now=utc_now())
    return RedirectResponse("/admin/quality", status_code=303)
