"""Citizen learning API (/api/v1/learning), public certificate verification, and the public
signing keys (/.well-known/prakerja-keys.json)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from prakerja.identity.deps import CurrentCitizen
from prakerja.identity.schemas import problems
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import NotFound
from prakerja.kit.routing import DbSession, new_router
from prakerja.learning import certificates, rules, service_completion, service_review, signing
from prakerja.learning.api_partner_learning import cert_ref
from prakerja.learning.schemas import (
    EnrolmentRead,
    ReviewIn,
    ReviewRead,
    SessionStatus,
    VerificationRead,
)
from prakerja.learning.service_enrolment import Enrolment, enrolments
from prakerja.learning.signing import jwks
from prakerja.settings import get_settings

router = new_router(tags=["learning"])


def _sessions(e: Enrolment) -> list[SessionStatus]:
    return [
        SessionStatus(
            session_id=s.row.id,
            starts_at=s.row.starts_at,
            redeem_code=s.code.code if s.code else None,
            valid_from=s.code.valid_from if s.code else None,
            valid_until=s.code.valid_until if s.code else None,
            redeemed=bool(s.code and s.code.committed_at),
            face_status=s.attendance.face_status if s.attendance else "none",
            attended=bool(s.attendance and s.attendance.reported_at),
        )
        for s in e.sessions
    ]


def enrolment_read(e: Enrolment) -> EnrolmentRead:
    done, review = e.completion, e.review
    return EnrolmentRead(
        order_id=e.order.public_id,
        course_id=e.course.public_id,
        course_title=e.course.title,
        provider=e.provider,
        progress_percent=e.progress,
        next_step=e.next_step,
        sessions=_sessions(e),
        completed_at=done.completed_at if done else None,
        pre_score=done.pre_score if done else None,
        post_score=done.post_score if done else None,
        certificate=cert_ref(e.certificate) if e.certificate else None,
        review=ReviewRead(
            order_id=e.order.public_id,
            stars=review.stars,
            text=review.text,
            created_at=review.created_at,
        )
        if review
        else None,
    )


@router.get("/api/v1/learning/enrolments", responses=problems(401, 403))
def my_enrolments(session: DbSession, account: CurrentCitizen) -> list[EnrolmentRead]:
    """Your courses: sessions with redeem codes and windows, progress, completion, certificate."""
    return [enrolment_read(e) for e in enrolments(session, account_id=account.id, now=utc_now())]


@router.post(
    "/api/v1/learning/reviews", status_code=201, responses=problems(401, 403, 404, 409, 422)
)
def give_review(body: ReviewIn, session: DbSession, account: CurrentCitizen) -> ReviewRead:
    """Rate a completed course (required; it unlocks the next course and the incentive)."""
    review = service_review.submit_review(
        session,
        account_id=account.id,
        order_public_id=body.order_id,
        stars=body.stars,
        text=body.text,
        now=utc_now(),
    )
    return ReviewRead(
        order_id=body.order_id, stars=review.stars, text=review.text, created_at=review.created_at
    )


def verification(session: DbSession, public_id: str) -> VerificationRead:
    """The public verdict on a stored certificate (name masked)."""
    try:
        cert = service_completion.certificate_by_public_id(session, public_id)
    except rules.CertificateNotFound:
        return VerificationRead(certificate_id=public_id, valid=False)
    valid, facts = service_completion.check_certificate(cert)
    return VerificationRead(
        certificate_id=public_id,
        valid=valid,
        key_id=cert.key_id,
        course=(facts.get("course") or {}).get("title"),
        provider=(facts.get("provider") or {}).get("name"),
        completed_on=certificates.completed_day(facts),
        recipient=rules.mask_name((facts.get("recipient") or {}).get("name")),
    )


@router.get("/api/v1/certificates/{public_id}/verify")
def verify(public_id: str, session: DbSession) -> VerificationRead:
    """Anyone may check a certificate: valid only if its signature and badge proof hold."""
    return verification(session, public_id[:64])


@router.post("/api/v1/certificates/verify-badge")
async def verify_badge(request: Request) -> dict[str, bool]:
    """Check an Open Badges credential (the exact JSON bytes we issued) against our keys."""
    return {"valid": certificates.verify_badge(await request.body())}


@router.get("/.well-known/prakerja-keys.json")
def public_keys() -> dict[str, Any]:
    """The programme's certificate signing keys (JWK Set, Ed25519), active and retired."""
    return jwks()


@router.get("/.well-known/prakerja-keys/{kid}", responses=problems(404))
def public_key(kid: str) -> dict[str, Any]:
    """One signing key as a Multikey verification method: what an Open Badge proof's
    `verificationMethod` names."""
    base = get_settings().base_url.rstrip("/")
    found = signing.multikey(kid[:64], f"{base}{certificates.KEY_PATH}{kid[:64]}", f"{base}/")
    if found is None:
        raise NotFound("No such key")
    return found


__all__ = ["enrolment_read", "router", "signing", "verification"]
