"""Partner API for learning (/api/partner/v1, signed like every partner call): session redeem
codes, attendance, completion with scores, and the partner's certificate.

Every call is idempotent: a repeat changes nothing and answers the same. A call made before its
prerequisite (attendance before the code is committed, completion before every session is
attended, a certificate before completion) is a 409 problem+json naming the rule.

Completions also come in batches (POST /completions/batch, up to 500): one signed call, one
transaction, one result per report in order: the completion, or the problem that refused that
report alone (nothing changed for it).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from prakerja.kit import i18n
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import DomainError, http_status
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, current_language
from prakerja.learning import certificates, service_attendance, service_completion
from prakerja.learning.model import Certificate, Completion, RedeemCode
from prakerja.learning.schemas import (
    AttendanceIn,
    AttendanceRead,
    CertificateRef,
    CompletionBatchIn,
    CompletionBatchRead,
    CompletionIn,
    CompletionRead,
    ItemProblem,
    PartnerCertificateIn,
    RedeemCodeIn,
    RedeemCodeRead,
)
from prakerja.learning.service_enrolment import partner_order
from prakerja.marketplace.deps import PartnerAuth
from prakerja.marketplace.model import Order
from prakerja.settings import get_settings

router = new_router(prefix="/api/partner/v1", tags=["partner: learning"])
_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing, wrong, stale or replayed signature (problem+json)"},
    404: {"description": "Not found, or not yours"},
    409: {"description": "Out of order, outside the redeem window, or reported differently"},
    422: {"description": "Invalid input (problem+json)"},
}


def _code_read(session: DbSession, redeem: RedeemCode) -> RedeemCodeRead:
    order = session.get(Order, redeem.order_id)
    return RedeemCodeRead(
        code=redeem.code,
        session_id=redeem.session_id,
        order_id=order.public_id if order else "",
        valid_from=redeem.valid_from,
        valid_until=redeem.valid_until,
        status="open" if redeem.committed_at is None else "committed",
        committed_at=redeem.committed_at,
    )


def cert_ref(cert: Certificate) -> CertificateRef:
    return CertificateRef(
        certificate_id=cert.public_id,
        issued_at=cert.issued_at,
        verify_url=certificates.verify_url(get_settings().base_url, cert.public_id),
    )


@router.post("/sessions/{session_id}/redeem-codes/check", responses=_ERRORS)
def check_code(
    session_id: RowId, body: RedeemCodeIn, session: DbSession, partner: PartnerAuth
) -> RedeemCodeRead:
    """Is this code valid for this session now? Changes nothing."""
    redeem = service_attendance.check_redeem_code(
        session, partner_id=partner.id, session_id=session_id, code=body.code, now=utc_now()
    )
    return _code_read(session, redeem)


@router.post("/sessions/{session_id}/redeem-codes/commit", responses=_ERRORS)
def commit_code(
    session_id: RowId, body: RedeemCodeIn, session: DbSession, partner: PartnerAuth
) -> RedeemCodeRead:
    """Use the code (once, within one hour either side of the session's start)."""
    redeem = service_attendance.commit_redeem_code(
        session, partner_id=partner.id, session_id=session_id, code=body.code, now=utc_now()
    )
    return _code_read(session, redeem)


@router.post("/attendance", responses=_ERRORS)
def report_attendance(
    body: AttendanceIn, session: DbSession, partner: PartnerAuth
) -> AttendanceRead:
    """The recipient attended (needs the committed code and the programme's face check)."""
    row = service_attendance.report_attendance(
        session,
        partner_id=partner.id,
        order_public_id=body.order_id,
        session_id=body.session_id,
        method=body.method,
        attended_at=body.attended_at,
        now=utc_now(),
    )
    return AttendanceRead(
        order_id=body.order_id,
        session_id=row.session_id,
        method=row.method,
        attended_at=row.at,
        reported_at=row.reported_at,
        face_status=row.face_status,
    )


def _completion_read(order_id: str, done: Completion, cert: Certificate) -> CompletionRead:
    return CompletionRead(
        order_id=order_id,
        pre_score=done.pre_score,
        post_score=done.post_score,
        completed_at=done.completed_at,
        certificate=cert_ref(cert),
    )


@router.post("/completions", responses=_ERRORS)
def report_completion(
    body: CompletionIn, session: DbSession, partner: PartnerAuth
) -> CompletionRead:
    """The recipient finished the course; the programme's signed certificate is issued."""
    order, _ = partner_order(session, partner.id, body.order_id)
    done = service_completion.record_completion(
        session,
        order_id=order.id,
        pre_score=body.pre_score,
        post_score=body.post_score,
        partner_id=partner.id,
        now=utc_now(),
    )
    return _completion_read(
        body.order_id, done, service_completion.certificate_of_order(session, order.id)
    )


_BATCH_ERRORS: dict[int | str, dict[str, Any]] = {k: _ERRORS[k] for k in (401, 422)}


@router.post("/completions/batch", responses=_BATCH_ERRORS, response_model_exclude_none=True)
def report_completions(
    body: CompletionBatchIn, session: DbSession, partner: PartnerAuth
) -> CompletionBatchRead:
    """Up to 500 completion reports in one call; each is answered as the single call would
    answer it, in order, and a refused one changes nothing."""
    parsed = [_parse_report(i, item) for i, item in enumerate(body.reports)]
    reports = [
        service_completion.Report(p.order_id, p.pre_score, p.post_score)
        for p in parsed
        if isinstance(p, CompletionIn)
    ]
    outcomes = iter(
        service_completion.record_completions(
            session, partner_id=partner.id, reports=reports, now=utc_now()
        )
    )
    results = [
        _result(next(outcomes), p.order_id) if isinstance(p, CompletionIn) else p for p in parsed
    ]
    refused = sum(isinstance(r, ItemProblem) for r in results)
    return CompletionBatchRead(results=results, accepted=len(results) - refused, refused=refused)


def _parse_report(index: int, item: Any) -> CompletionIn | ItemProblem:
    try:
        return CompletionIn.model_validate(item)
    except ValidationError as exc:
        order_id = item.get("order_id") if isinstance(item, dict) else None
        errors = [
            {
                "loc": ["body", "reports", str(index), *map(str, e["loc"])],
                "msg": e["msg"],
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'][3:]) or 'report'}: {e['msg']}" for e in errors)
        return ItemProblem(
            type="/problems/invalid",
            title=_title("Invalid input"),
            status=422,
            detail=detail,
            code="invalid",
            errors=errors,
            order_id=order_id if isinstance(order_id, str) else None,
        )


def _result(
    outcome: service_completion.Recorded | DomainError, order_id: str
) -> CompletionRead | ItemProblem:
    if isinstance(outcome, DomainError):
        title = _title(outcome.title)
        detail = title if outcome.detail == outcome.title else outcome.detail
        return ItemProblem(
            type=f"/problems/{outcome.code}",
            title=title,
            status=http_status(outcome),
            detail=detail,
            code=outcome.code,
            order_id=order_id,
            **outcome.extra,
        )
    return CompletionRead(
        order_id=outcome.order_id,
        pre_score=outcome.pre_score,
        post_score=outcome.post_score,
        completed_at=outcome.completed_at,
        certificate=CertificateRef(
            certificate_id=outcome.certificate_id,
            issued_at=outcome.issued_at,
            verify_url=certificates.verify_url(get_settings().base_url, outcome.certificate_id),
        ),
    )


def _title(text: str) -> str:
    return i18n.translations(current_language()).gettext(text)


@router.post("/certificates", responses=_ERRORS)
def report_certificate(
    body: PartnerCertificateIn, session: DbSession, partner: PartnerAuth
) -> CertificateRef:
    """Your own certificate number (and URL) for a completed course."""
    cert = service_completion.report_certificate(
        session,
        partner_id=partner.id,
        order_public_id=body.order_id,
        number=body.certificate_number,
        url=body.certificate_url,
        now=utc_now(),
    )
    return cert_ref(cert)
