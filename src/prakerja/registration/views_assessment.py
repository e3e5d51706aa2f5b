"""Pages of registration step 5: the registrant statement and the basic-ability test.

No JavaScript: the test is one form of radio groups; the deadline shown is the server's, in
Jakarta time. Pages opened before their step is reachable redirect to the dashboard.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from prakerja.identity.deps import CurrentCitizen
from prakerja.identity.model import Account
from prakerja.kit.clock import utc_now, wib
from prakerja.kit.errors import DomainError
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import csrf_protect, current_language, render, translate
from prakerja.registration import assessment, steps
from prakerja.registration import service as registration
from prakerja.registration import service_assessment as svc
from prakerja.registration.forms import errors_of
from prakerja.registration.model import Person
from prakerja.registration.service_eligibility import current_policy

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)

AttemptId = Annotated[int, Path(ge=1, le=2**62)]
_STATEMENT_FIELDS = (
    "work_status",
    "laid_off_recently",
    "in_formal_education",
    "public_position",
    "commit_to_finish",
)


def _page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return render(
        request, f"assessment/{name}", {"tr": translate, **context}, status_code=status_code
    )


def _to_dashboard() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=303)


def _statement_options() -> dict[str, Any]:
    return {
        "work_statuses": assessment.WORK_STATUSES,
        "aid_choices": assessment.AID_CHOICES,
        "positions": assessment.POSITION_CHOICES,
    }


def _statement_values(form: FormData | dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k, ""))[:40] for k in _STATEMENT_FIELDS}
    aid = form.getlist("other_aid") if isinstance(form, FormData) else form.get("other_aid", [])
    values["other_aid"] = [str(a)[:20] for a in aid][:10]
    return values


def _saved_values(person: Person | None) -> dict[str, Any]:
    saved = dict(person.statement or {}) if person is not None else {}
    for name in ("laid_off_recently", "in_formal_education", "commit_to_finish"):
        if isinstance(saved.get(name), bool):
            saved[name] = "yes" if saved[name] else "no"
    return saved


@router.get("/journey/statement", response_class=HTMLResponse)
def statement_page(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    person = registration.find_person(session, account.id)
    if not steps.may_open(person, account, "statement"):
        return _to_dashboard()
    return _page(
        request,
        "statement.html",
        {"values": _saved_values(person), "errors": {}, **_statement_options()},
    )


@router.post("/journey/statement", response_class=HTMLResponse)
async def statement_submit(
    request: Request, session: DbSession, account: CurrentCitizen
) -> Response:
    values = _statement_values(await request.form())
    person = registration.find_person(session, account.id)
    if person is None:
        return _to_dashboard()
    try:
        await run_in_threadpool(
            lambda: svc.save_statement(session, person_id=person.id, answers=values, now=utc_now())
        )
    except (registration.StepOutOfOrder, registration.StepLocked):
        session.rollback()
        return _to_dashboard()
    except DomainError as exc:
        session.rollback()
        return _page(
            request,
            "statement.html",
            {
                "values": values,
                "errors": errors_of(exc, current_language()),
                **_statement_options(),
            },
            status_code=422,
        )
    return RedirectResponse("/journey/test", status_code=303)


def _intro(
    request: Request, session: Session, person: Person, error: DomainError | None = None
) -> HTMLResponse:
    _, rules = current_policy(session)
    view = svc.overview(session, person_id=person.id, now=utc_now(), rules=rules)
    refusal = error or view.refusal
    return _page(
        request,
        "test_intro.html",
        {
            "view": view,
            "policy": view.policy,
            "grace": int(assessment.GRACE.total_seconds()),
            "refusal": translate(refusal.title) if refusal else "",
            "retry_on": wib(_retry_at(refusal)),
        },
        status_code=409 if error else 200,
    )


def _retry_at(error: DomainError | None) -> dt.datetime | None:
    if isinstance(error, assessment.RetryNotYetAllowed):
        return dt.datetime.fromisoformat(error.extra["retry_allowed_at"])
    return None


def _person_for_test(session: Session, account: Account) -> Person | None:
    """The person when the test step (or its record, once passed) may be shown."""
    person = registration.find_person(session, account.id)
    if person is None or person.statement_done_at is None:
        return None
    return person if steps.next_step(person, account) in ("test", "done") else None


@router.get("/journey/test", response_class=HTMLResponse)
def test_intro(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    person = _person_for_test(session, account)
    return _to_dashboard() if person is None else _intro(request, session, person)


@router.post("/journey/test/start", response_class=HTMLResponse)
async def test_start(request: Request, session: DbSession, account: CurrentCitizen) -> Response:
    person = _person_for_test(session, account)
    if person is None:
        return _to_dashboard()
    _, rules = current_policy(session)
    try:
        attempt = await run_in_threadpool(
            lambda: svc.start_test(session, person_id=person.id, now=utc_now(), rules=rules)
        )
    except DomainError as exc:
        session.rollback()
        return _intro(request, session, person, exc)
    return RedirectResponse(f"/journey/test/{attempt.id}", status_code=303)


def _attempt_page(
    request: Request,
    session: Session,
    attempt: svc.Attempt,
    errors: dict[str, list[str]] | None = None,
    chosen: dict[str, int] | None = None,
) -> HTMLResponse:
    lang = current_language()
    if attempt.is_open:
        return _page(
            request,
            "test_form.html",
            {
                "attempt": attempt,
                "questions": svc.questions_of(attempt),
                "qlang": lang,
                "deadline": wib(attempt.deadline_at),
                "errors": errors or {},
                "chosen": chosen or {},
            },
            status_code=422 if errors else 200,
        )
    _, rules = current_policy(session)
    total = len(attempt.question_ids)
    return _page(
        request,
        "test_result.html",
        {
            "attempt": attempt,
            "total": total,
            "percent": assessment.percent(attempt.score or 0, total),
            "retry_on": wib(svc.retry_opens_at(attempt, rules)),
            "submitted": wib(attempt.submitted_at),
        },
    )


def _own_attempt(session: Session, account: Account, attempt_id: int) -> svc.Attempt | None:
    """The citizen's own attempt (closed if its time is up), else None."""
    person = registration.find_person(session, account.id)
    try:
        return svc.get_attempt(
            session, person_id=person.id if person else 0, attempt_id=attempt_id, now=utc_now()
        )
    except svc.AttemptNotFound:
        return None


def _not_found(request: Request) -> HTMLResponse:
    # Rendered here, while the session is open (the page header reads the account).
    return render(
        request,
        "error.html",
        {"status": 404, "title": translate("No such test attempt"), "detail": ""},
        status_code=404,
    )


@router.get("/journey/test/{attempt_id}", response_class=HTMLResponse)
def test_page(
    attempt_id: AttemptId, request: Request, session: DbSession, account: CurrentCitizen
) -> Response:
    attempt = _own_attempt(session, account, attempt_id)
    return _not_found(request) if attempt is None else _attempt_page(request, session, attempt)


def _answers(form: FormData, question_ids: list[str]) -> dict[str, int]:
    """Chosen option per question; blanks are unanswered, anything else goes to the rules."""
    out: dict[str, int] = {}
    for qid in question_ids:
        raw = str(form.get(f"q_{qid}", "")).strip()
        if raw:
            out[qid] = int(raw) if raw.isdigit() and len(raw) < 3 else -1
    return out


@router.post("/journey/test/{attempt_id}", response_class=HTMLResponse)
async def test_submit(
    attempt_id: AttemptId, request: Request, session: DbSession, account: CurrentCitizen
) -> Response:
    form = await request.form()
    attempt = _own_attempt(session, account, attempt_id)
    if attempt is None:
        return _not_found(request)
    pid = attempt.person_id
    answers = _answers(form, attempt.question_ids)
    _, rules = current_policy(session)
    try:
        attempt = await run_in_threadpool(
            lambda: svc.submit_test(
                session,
                person_id=pid,
                attempt_id=attempt_id,
                answers=answers,
                now=utc_now(),
                rules=rules,
            )
        )
    except DomainError as exc:
        session.rollback()
        attempt = svc.get_attempt(session, person_id=pid, attempt_id=attempt_id, now=utc_now())
        return _attempt_page(
            request,
            session,
            attempt,
            errors_of(exc, current_language()),
            {k: v for k, v in answers.items() if v >= 0},
        )
    return _attempt_page(request, session, attempt)
