"""Citizen registration pages: the dashboard and the identity, profile, KTP, face and phone steps.

Every page is the logged-in citizen's own; a step opened before an earlier one is finished
redirects to the dashboard. A refused form is shown again with each error next to its field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from prakerja.identity.deps import CurrentCitizen
from prakerja.identity.service import settle
from prakerja.kit.clock import jakarta_date, utc_now
from prakerja.kit.errors import DomainError
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import csrf_protect, current_language, render, translate
from prakerja.learning import service_enrolment
from prakerja.registration import forms as vs
from prakerja.registration import (
    journey,
    service,
    service_assessment,
    service_media,
    service_profile,
    steps,
)
from prakerja.registration.model import Person
from prakerja.registration.service_eligibility import current_policy
from prakerja.selection import service as selection
from prakerja.settings import get_settings
from prakerja.wallet import cards, service_card
from prakerja.wallet.model_card import ACTIVE, Card

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)


def _reasons(person: Person | None) -> list[str]:
    return vs.registry_reasons(service.mismatch_reasons(person), current_language())


def _to_dashboard() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=303)


def _guard(session: Session, account: Any, step: str) -> Person | None:
    """The person when the page of `step` may open, else None (caller redirects)."""
    person = service.find_person(session, account.id)
    return person if steps.may_open(person, account, step) else None


async def _attempt(
    session: Session, call: Callable[[], Any], field: str = "_form"
) -> tuple[Any, dict[str, Any]]:
    """Run a service call; a refusal becomes form errors with the transaction undone (or, for
    counted refusals, committed so attempt counters stick)."""
    try:
        return await run_in_threadpool(call), {}
    except (service.StepOutOfOrder, service.StepLocked):
        session.rollback()
        return None, {"redirect": True}
    except DomainError as exc:
        settle(session, exc)  # counted refusals (wrong SMS code) keep their counters
        return None, vs.errors_of(exc, current_language(), field)


def _next_places(session: Session, card: Card | None) -> dict[str, bool]:
    """Which later pages apply once registration is done: the waves always, the card page once
    a card is issued, the courses page once a course is confirmed. Read through the wallet's
    and learning's public functions (this page composes them; registration's services do not
    depend on later contexts)."""
    return {
        "waves": True,
        "card": card is not None,
        "learning": card is not None and service_enrolment.has_enrolment(session, card.id),
    }


def _card_in_use(card: Card | None) -> bool:
    """A card issued and neither revoked nor closed."""
    return card is not None and card.status == ACTIVE


def _day_text(day: dt.date) -> str:
    return service_card.sms_date(day, current_language())


def _card_facts(session: Session, card: Card | None) -> dict[str, Any]:
    if card is None:
        return {}
    step = cards.next_step(service_card.state_of(card), jakarta_date(utc_now()))
    deadline = card.first_purchase_deadline if step == "buy_first_course" else None
    facts: dict[str, Any] = {
        "card_step": step,
        "card_deadline": card.spend_rest_deadline if step == "spend_rest" else deadline,
    }
    course = service_enrolment.course_under_way(session, card.id)
    if course is not None:
        facts["course_step"], facts["course_title"] = course
    return facts


def _journey(
    session: Session, card: Card | None, person: Person, eligible: bool
) -> journey.NextStep:
    """The one next step after registration, from the waves, the card and the courses."""
    now = utc_now()
    applications = selection.applications_of(session, person.id)
    latest = applications[0] if applications else None
    wave = selection.open_wave_for(session, person.regency_code, now)
    facts = journey.Facts(
        eligible=eligible,
        open_wave=wave.code if wave and (latest is None or latest.wave_id != wave.id) else None,
        application=latest.status if latest else None,
        application_wave=selection.get_wave(session, latest.wave_id).code if latest else None,
        **_card_facts(session, card),
    )
    return journey.after_registration(facts, _day_text)


def _test_step(session: Session, person: Person | None) -> journey.NextStep | None:
    """At the test step: why a new attempt cannot start now, if it cannot."""
    if person is None or person.statement_done_at is None:
        return None
    _, rules = current_policy(session)
    refusal = service_assessment.overview(
        session, person_id=person.id, now=utc_now(), rules=rules
    ).refusal
    if refusal is None:
        return None
    retry_on = refusal.extra.get("retry_allowed_on")
    day = dt.date.fromisoformat(retry_on) if isinstance(retry_on, str) else None
    return journey.when_test_refused(refusal.code, day, _day_text)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, account: CurrentCitizen) -> HTMLResponse:
    """Status and the single next step (across the waves, the card and the courses once
    registered), masked NIK and region; once registered, eligibility and links to the waves,
    the card and the courses that apply."""
    person = service.find_person(session, account.id)
    step = steps.next_step(person, account)
    ctx: dict[str, Any] = {
        "person": person,
        "step": step,
        "step_url": steps.STEP_URLS[step],
        "step_title": steps.STEP_TITLES[step],
        "status": steps.status_text(person, account),
        "next": None,
        "done_steps": steps.completed(person, account),
        "titles": steps.STEP_TITLES,
        "all_steps": steps.STEP_TITLES,
        "region": service.region_of(person),
        "eligibility": None,
        "places": {},
    }
    if step == "test":
        ctx["next"] = _test_step(session, person)
    if step == "done" and person is not None:
        eligibility = vs.eligibility(session, person, utc_now(), current_language())
        eligible = eligibility is None or eligibility["eligible"]
        card = service_card.card_for_account(session, account.id)
        ctx["next"] = _journey(session, card, person, eligible)
        ctx["places"] = _next_places(session, card)
        # Whether one may join a wave is moot while one's own card is in use: the rule "one
        # lifetime benefit" would read as a refusal to a recipient who is doing just fine.
        ctx["eligibility"] = None if _card_in_use(card) else eligibility
    return render(request, "registration/dashboard.html", ctx)


@router.get("/journey/identity", response_class=HTMLResponse)
def identity_page(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    if not steps.may_open(service.find_person(session, account.id), account, "identity"):
        return _to_dashboard()
    person = service.find_person(session, account.id)
    return render(
        request,
        "registration/identity.html",
        {
            "person": person,
            "values": {},
            "errors": {},
            "reasons": _reasons(person),
            "attempts_left": service.registry_attempts_left(person, utc_now()),
        },
    )


@router.post("/journey/identity", response_class=HTMLResponse)
async def identity_submit(
    request: Request, session: DbSession, account: CurrentCitizen
) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, ""))[:40] for k in ("nik", "kk", "birth_date")}
    birth = vs.parse_date(values["birth_date"])
    if birth is None:
        errors = {"birth_date": [translate("Enter your date of birth (day, month, year).")]}
        person = None
    else:
        person, errors = await _attempt(
            session,
            lambda: service.submit_identity(
                session,
                account_id=account.id,
                nik=values["nik"],
                kk=values["kk"],
                birth_date=birth,
                now=utc_now(),
            ),
            field="nik",
        )
    if errors.get("redirect"):
        return _to_dashboard()
    if not errors and person is not None and person.registry_status != "mismatch":
        return _to_dashboard()
    person = service.find_person(session, account.id)
    shown = values if errors else {"birth_date": values["birth_date"]}
    return render(
        request,
        "registration/identity.html",
        {
            "person": person,
            "values": shown,
            "errors": errors,
            "reasons": _reasons(person),
            "attempts_left": service.registry_attempts_left(person, utc_now()),
        },
        status_code=422 if errors else 200,
    )


@router.get("/journey/profile", response_class=HTMLResponse)
def profile_page(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    person = _guard(session, account, "profile")
    if person is None:
        return _to_dashboard()
    return render(
        request,
        "registration/profile.html",
        {"values": service_profile.profile_values(person), "errors": {}, **vs.profile_options()},
    )


@router.post("/journey/profile", response_class=HTMLResponse)
async def profile_submit(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    form = await request.form()
    data = vs.profile_input(form)
    _, errors = await _attempt(
        session,
        lambda: service_profile.save_profile(
            session, account_id=account.id, data=data, now=utc_now()
        ),
    )
    if not errors:
        return _to_dashboard()
    if errors.get("redirect"):
        return _to_dashboard()
    return render(
        request,
        "registration/profile.html",
        {"values": vs.profile_form_values(data), "errors": errors, **vs.profile_options()},
        status_code=422,
    )


@router.get("/journey/ktp", response_class=HTMLResponse)
def ktp_page(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    person = _guard(session, account, "ktp")
    if person is None:
        return _to_dashboard()
    return render(
        request, "registration/ktp.html", {"person": person, "errors": {}, "max_mb": vs.max_mb()}
    )


async def _upload(form: FormData, name: str) -> bytes:
    """The uploaded file's bytes, reading at most one byte past the limit."""
    item = form.get(name)
    if not isinstance(item, UploadFile):
        return b""
    return await item.read(get_settings().upload_max_bytes + 1)


@router.post("/journey/ktp", response_class=HTMLResponse)
async def ktp_submit(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    data = await _upload(await request.form(), "photo")
    _, errors = await _attempt(
        session,
        lambda: service_media.upload_ktp(session, account_id=account.id, data=data, now=utc_now()),
    )
    if not errors or errors.get("redirect"):
        return _to_dashboard()
    return render(
        request,
        "registration/ktp.html",
        {
            "person": service.find_person(session, account.id),
            "errors": errors,
            "max_mb": vs.max_mb(),
        },
        status_code=422,
    )


def _face_page(
    request: Request, person: Person | None, errors: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    left = service_media.face_attempts_left(person, utc_now()) if person else 0
    return render(
        request,
        "registration/face.html",
        {
            "person": person,
            "errors": errors,
            "attempts_left": left,
            "reason_text": vs.FACE_REASONS.get(
                (person.face_reason if person else "") or "", "Please try again."
            ),
            "max_mb": vs.max_mb(),
        },
        status_code=status_code,
    )


@router.get("/journey/face", response_class=HTMLResponse)
def face_page(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    person = _guard(session, account, "face")
    return _to_dashboard() if person is None else _face_page(request, person, {})


@router.post("/journey/face", response_class=HTMLResponse)
async def face_submit(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    form = await request.form()
    image, blink = await _upload(form, "photo"), form.get("blink") == "yes"
    person, errors = await _attempt(
        session,
        lambda: service_media.face_check(
            session, account_id=account.id, image=image, blink=blink, now=utc_now()
        ),
        field="photo",
    )
    if errors.get("redirect") or (not errors and person.face_status == "pass"):
        return _to_dashboard()
    return _face_page(
        request,
        service.find_person(session, account.id),
        errors,
        status_code=422 if errors else 200,
    )


@router.get("/journey/phone", response_class=HTMLResponse)
def phone_page(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    if _guard(session, account, "phone") is None:
        return _to_dashboard()
    return render(request, "registration/phone.html", {"errors": {}, "sent": False, "phone": ""})


@router.post("/journey/phone", response_class=HTMLResponse)
async def phone_submit(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    form = await request.form()
    phone, code = str(form.get("phone", ""))[:30], str(form.get("code", ""))[:12].strip()
    if form.get("action") == "confirm":
        _, errors = await _attempt(
            session,
            lambda: service_media.confirm_phone(
                session, account_id=account.id, code=code, now=utc_now()
            ),
            field="code",
        )
        if not errors or errors.get("redirect"):
            return _to_dashboard()
        sent = True
    else:
        _, errors = await _attempt(
            session,
            lambda: service_media.start_phone(
                session, account_id=account.id, phone=phone, now=utc_now()
            ),
            field="phone",
        )
        if errors.get("redirect"):
            return _to_dashboard()
        sent = not errors
    return render(
        request,
        "registration/phone.html",
        {"errors": errors, "sent": sent, "phone": phone},
        status_code=422 if errors else 200,
    )
