"""Wave pages: the citizen's /waves, the public /waves/{code}, and the operators' /admin/waves."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from prakerja.identity.deps import CurrentCitizen, require_staff
from prakerja.identity.model import Account
from prakerja.kit import consoles
from prakerja.kit.clock import from_wib, utc_now
from prakerja.kit.errors import DomainError, NotFound
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, csrf_protect, render, translate
from prakerja.registration import service as registration
from prakerja.registration import steps
from prakerja.registration.eligibility import MESSAGES
from prakerja.registration.service_eligibility import current_policy
from prakerja.selection import queries, service, service_draw, service_ops, service_review

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)
OPERATORS = ("operator",)
Operator = Annotated[Account, Depends(require_staff(*OPERATORS))]


consoles.register(
    "/admin/waves",
    "Waves",
    OPERATORS,
    rank=20,
    waiting=lambda session: service_ops.count_waiting(session, utc_now()),
)
# Button labels: the action codes double as status names ("open"), so a button needs words of
# its own ("Open the wave", not the status "open").
ACTION_TEXT = {
    "commit": "Publish the seed commitment",
    "open": "Open the wave",
    "close": "Close the wave",
    "screen": "Screen the applicants",
    "draw": "Draw",
    "run": "Screen and draw",
    "announce": "Announce the results",
    "purchase_window": "Open the purchase window",
    "settle": "Settle the wave",
}
FILES = {"pool.bin": "application/octet-stream", "params.json": "application/json"}


def _reasons(session: DbSession) -> Any:
    rules = current_policy(session)[1]
    values = {"kk_cap": rules.kk_cap, "age_min": rules.age_min, "age_max": rules.age_max or ""}

    def text(code: str) -> str:
        message = translate(MESSAGES.get(code, code))
        try:
            return message % values
        except (KeyError, ValueError, TypeError):
            return message

    return text


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


def _citizen_context(session: DbSession, account: Account) -> dict[str, Any]:
    now = utc_now()
    person = registration.find_person(session, account.id)
    done = person is not None and steps.next_step(person, account) == "done"
    apps = service.applications_of(session, person.id) if person else []
    rows = [
        (a, w, queries.citizen_status(a, w))
        for a in apps
        for w in [service.get_wave(session, a.wave_id)]
    ]
    active = service.active_application(session, person.id) if person else None
    wave = service.open_wave_for(session, person.regency_code, now) if done and person else None
    misses = service_review.non_selections(session, person.id) if person else 0
    return {
        "done": done,
        "rows": rows,
        "wave": None if active else wave,
        "texts": queries.STATUS_TEXTS,
        "reason": _reasons(session),
        "misses": misses,
        "threshold": service_review.review_threshold(session),
        "review": service_review.open_review(session, person.id) if person else None,
    }


@router.get("/waves", response_class=HTMLResponse)
def my_waves(request: Request, session: DbSession, account: CurrentCitizen) -> HTMLResponse:
    """The open wave for my region (join with consent) and the status of my applications."""
    return render(request, "selection/my_waves.html", _citizen_context(session, account))


@router.post("/waves/{code}/join", response_model=None)
def join(
    request: Request, code: str, session: DbSession, account: CurrentCitizen, form: Form
) -> Response:
    try:
        wave = service.wave_by_code(session, code)
        app = service.join_wave(
            session,
            account_id=account.id,
            wave_id=wave.id,
            consent=form.get("consent") == "yes",
            now=utc_now(),
        )
    except DomainError as exc:
        session.rollback()
        ctx = _citizen_context(session, account)
        return render(
            request,
            "selection/my_waves.html",
            {**ctx, "error": exc.title},
            status_code=422 if exc.kind == "invalid" else 409,
        )
    return RedirectResponse(f"/waves?joined={app.receipt}", status_code=303)


@router.post("/waves/review", response_model=None)
def ask_review(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    try:
        service_review.request_review(session, account_id=account.id, now=utc_now())
    except DomainError as exc:
        session.rollback()
        ctx = _citizen_context(session, account)
        return render(
            request, "selection/my_waves.html", {**ctx, "error": exc.title}, status_code=409
        )
    return RedirectResponse("/waves", status_code=303)


@router.get("/waves/{code}", response_class=HTMLResponse)
def public_wave(request: Request, code: str, session: DbSession, receipt: str = "") -> HTMLResponse:
    """Commitment, seed, hashes, parameters, counts, files, and the receipt check."""
    wave = service.wave_by_code(session, code)
    outcome = None
    if receipt.strip():
        try:
            app = service.outcome_by_receipt(session, code, receipt)
            outcome = queries.public_outcome(app, wave)
        except NotFound:
            outcome = ("unknown", [])
    figures = queries.public_figures(session, wave)
    return render(
        request,
        "selection/wave_public.html",
        {
            "wave": wave,
            "counts": figures.counts,
            "regions": figures.regions,
            "groups": figures.groups,
            "outcome": outcome,
            "receipt": receipt,
            "texts": queries.STATUS_TEXTS,
            "reason": _reasons(session),
        },
    )


@router.get("/waves/{code}/files/{name}", response_model=None)
def wave_file(code: str, name: str, session: DbSession) -> Response:
    """The published pool and params files of a drawn wave."""
    wave = service.wave_by_code(session, code)
    path = service_draw.files_dir(wave.code) / name
    if name not in FILES or wave.pool_sha256 is None or not path.is_file():
        raise NotFound("No such file")
    return FileResponse(path, media_type=FILES[name], filename=f"{code}-{name}")


@router.get("/admin/waves", response_class=HTMLResponse)
def admin_waves(request: Request, session: DbSession, staff: Operator) -> HTMLResponse:
    return render(request, "selection/admin_waves.html", _waves_context(session))


def _waves_context(session: Session) -> dict[str, Any]:
    """Every wave with the step that is the operators' next (none when nothing is left)."""
    waves = service.list_waves(session)
    return {
        "waves": waves,
        "next_step": {w.code: next(iter(service_ops.actions_for(w)), "") for w in waves},
        "action_text": ACTION_TEXT,
        "reviews": service_review.pending_reviews(session),
    }


def _plan_from(form: FormData) -> service.WavePlan:
    def when(name: str) -> dt.datetime:
        """The form's instant: Jakarta time (WIB) as operators read their clocks, unless the
        value carries its own offset; stored in UTC."""
        try:
            value = dt.datetime.fromisoformat(str(form.get(name, "")))
        except ValueError:
            raise service.WaveInvalid(
                f"{name}: use a date and time like 2026-03-01T08:00 (WIB)"
            ) from None
        return from_wib(value)

    places = str(form.get("places", "")).replace(".", "").strip()
    regions = [
        c.strip() for c in str(form.get("regions", "")).replace("\n", ",").split(",") if c.strip()
    ]
    minimum = str(form.get("minimum", "0")).strip() or "0"
    priority = str(form.get("priority_quota", "0")).strip() or "0"
    if not (places.isdigit() and minimum.isdigit() and priority.isdigit()):
        raise service.WaveInvalid("Places, minimum and priority quota are whole numbers")
    return service.WavePlan(
        code=str(form.get("code", "")).strip(),
        name=str(form.get("name", "")),
        opens_at=when("opens_at"),
        closes_at=when("closes_at"),
        total_quota=int(places),
        regions_open=regions or None,
        quota={"minimum": int(minimum), "priority_quota": int(priority)},
    )


@router.post("/admin/waves", response_model=None)
def plan(request: Request, session: DbSession, staff: Operator, form: Form) -> Response:
    try:
        wave = service.plan_wave(
            session, plan=_plan_from(form), actor=f"staff:{staff.public_id}", now=utc_now()
        )
    except DomainError as exc:
        session.rollback()
        return render(
            request,
            "selection/admin_waves.html",
            {**_waves_context(session), "error": exc.detail, "form": form},
            status_code=422,
        )
    return RedirectResponse(f"/admin/waves/{wave.code}", status_code=303)


@router.get("/admin/waves/{code}", response_class=HTMLResponse)
def admin_wave(
    request: Request, code: str, session: DbSession, staff: Operator, error: str = ""
) -> HTMLResponse:
    wave = service.wave_by_code(session, code)
    return render(
        request,
        "selection/admin_wave.html",
        {
            "wave": wave,
            "counts": queries.status_counts(session, wave.id),
            "actions": service_ops.actions_for(wave),
            "action_text": ACTION_TEXT,
            "error": error,
        },
    )


@router.post("/admin/waves/{code}/{action}", response_model=None)
def admin_action(
    request: Request, code: str, action: str, session: DbSession, staff: Operator
) -> Response:
    try:
        service_ops.run_action(
            session, code=code, action=action, actor=f"staff:{staff.public_id}", now=utc_now()
        )
    except DomainError as exc:
        session.rollback()
        wave = service.wave_by_code(session, code)
        return render(
            request,
            "selection/admin_wave.html",
            {
                "wave": wave,
                "counts": queries.status_counts(session, wave.id),
                "actions": service_ops.actions_for(wave),
                "action_text": ACTION_TEXT,
                "error": exc.detail,
            },
            status_code=409,
        )
    return RedirectResponse(f"/admin/waves/{code}", status_code=303)


@router.post("/admin/reviews/{review_id}", response_model=None)
def decide(review_id: RowId, session: DbSession, staff: Operator, form: Form) -> Response:
    service_review.decide_review(
        session,
        review_id=review_id,
        decision=str(form.get("decision", "")),
        note=str(form.get("note", "")),
        actor=f"staff:{staff.public_id}",
        now=utc_now(),
    )
    return RedirectResponse("/admin/waves", status_code=303)
