"""Citizen registration API: always the logged-in account's own record (no ids in URLs)."""

from __future__ import annotations

from prakerja.identity.deps import CurrentCitizen
from prakerja.identity.service import counting_refusals
from prakerja.kit.clock import utc_now
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import translate
from prakerja.registration import service, service_media, service_profile, steps
from prakerja.registration.model import Person
from prakerja.registration.schemas import (
    IdentityIn,
    MeRead,
    PhoneConfirmIn,
    PhoneIn,
    ProfileIn,
    Region,
    problems,
)

router = new_router(prefix="/api/v1/registration", tags=["registration"])

_WRITE_ERRORS = problems(400, 401, 403, 409, 422, 429, 503)


def me_read(person: Person | None, account: object) -> MeRead:
    """The API view of a person (a missing person reads as 'not started')."""
    return MeRead(
        status=translate(steps.status_text(person, account)),
        next_step=steps.next_step(person, account),
        completed_steps=steps.completed(person, account),
        nik_masked=person.nik_masked if person is not None else None,
        registry_status=person.registry_status if person is not None else "none",
        face_status=person.face_status if person is not None else "none",
        region=Region(**service.region_of(person)),
    )


@router.get("/me", responses=problems(401, 403))
def read_me(session: DbSession, account: CurrentCitizen) -> MeRead:
    """The citizen's registration status, next step, masked NIK and KTP region."""
    return me_read(service.find_person(session, account.id), account)


@router.post("/identity", responses=_WRITE_ERRORS)
def submit_identity(body: IdentityIn, session: DbSession, account: CurrentCitizen) -> MeRead:
    """Submit NIK, KK and date of birth; checked against the civil registry."""
    person = service.submit_identity(
        session,
        account_id=account.id,
        nik=body.nik,
        kk=body.kk,
        birth_date=body.birth_date,
        now=utc_now(),
    )
    return me_read(person, account)


@router.post("/profile", responses=_WRITE_ERRORS)
def save_profile(body: ProfileIn, session: DbSession, account: CurrentCitizen) -> MeRead:
    """Save the profile (names as on the KTP, address, domicile, situation)."""
    person = service_profile.save_profile(
        session, account_id=account.id, data=body.to_input(), now=utc_now()
    )
    return me_read(person, account)


@router.post("/phone", status_code=202, responses=_WRITE_ERRORS)
def start_phone(body: PhoneIn, session: DbSession, account: CurrentCitizen) -> MeRead:
    """Send a 6-digit code by SMS to the given mobile number."""
    with counting_refusals(session):
        service_media.start_phone(session, account_id=account.id, phone=body.phone, now=utc_now())
    return me_read(service.find_person(session, account.id), account)


@router.post("/phone/confirm", responses=_WRITE_ERRORS)
def confirm_phone(body: PhoneConfirmIn, session: DbSession, account: CurrentCitizen) -> MeRead:
    """Confirm the SMS code; completes the phone step."""
    with counting_refusals(session):
        person = service_media.confirm_phone(
            session, account_id=account.id, code=body.code, now=utc_now()
        )
    session.refresh(account)
    return me_read(person, account)
