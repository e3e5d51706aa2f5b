"""Staff pages: login with password + TOTP, staff home, the background jobs page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.identity import rules, service
from prakerja.identity.deps import StaffAccount, require_staff
from prakerja.identity.model import Account
from prakerja.identity.views import client_ip, message, set_session_cookie
from prakerja.kit import audit, consoles, jobs
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import DomainError, http_status
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, csrf_protect, render

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)

JOBS_STAFF = ("admin", "operator")
JobsStaff = Annotated[Account, Depends(require_staff(*JOBS_STAFF))]


def _dead_jobs(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(jobs.Job.status == jobs.DEAD)) or 0)


consoles.register("/admin/jobs", "Background jobs", JOBS_STAFF, rank=90, waiting=_dead_jobs)
Text = Annotated[str, Form()]


@router.get("/staff/login", response_class=HTMLResponse)
def staff_login_page(request: Request, next: str = "") -> HTMLResponse:
    return render(
        request,
        "identity/staff_login.html",
        {"error": "", "email": "", "next": rules.safe_next(next, "")},
    )


@router.post("/staff/login", response_class=HTMLResponse)
def staff_login(
    request: Request,
    session: DbSession,
    email: Text,
    password: Text,
    code: Text,
    next: Annotated[str, Form()] = "",
) -> Response:
    target = rules.safe_next(next, "/staff")
    try:
        web = service.staff_login(
            session,
            email=email,
            password=password,
            totp_code=code,
            ip=client_ip(request),
            now=utc_now(),
        )
    except DomainError as exc:
        service.settle(session, exc)
        return render(
            request,
            "identity/staff_login.html",
            {"error": message(exc), "email": email, "next": next},
            status_code=http_status(exc),
        )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, web.token)
    return response


@router.get("/staff", response_class=HTMLResponse)
def staff_home(request: Request, session: DbSession, staff: StaffAccount) -> HTMLResponse:
    listed = consoles.for_staff(staff.has_role)
    return render(
        request,
        "identity/staff_home.html",
        {"staff": staff, "consoles": listed, "waiting": consoles.waiting_counts(session, listed)},
    )


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: DbSession, staff: JobsStaff) -> HTMLResponse:
    dead = session.scalars(
        select(jobs.Job).where(jobs.Job.status == jobs.DEAD).order_by(jobs.Job.id.desc()).limit(200)
    ).all()
    return render(
        request,
        "identity/admin_jobs.html",
        {
            "counts": jobs.counts(session),
            "awaiting": jobs.awaiting_handler(session),
            "dead": dead,
            "statuses": (jobs.QUEUED, jobs.RUNNING, jobs.DONE, jobs.DEAD),
        },
    )


@router.post("/admin/jobs/{job_id}/retry")
def retry_job(job_id: RowId, session: DbSession, staff: JobsStaff) -> Response:
    now = utc_now()
    job = session.get(jobs.Job, job_id)
    if job is not None and job.status == jobs.DEAD:
        jobs.retry_dead(session, job_id, now)
        audit.record(
            session,
            actor=f"staff:{staff.public_id}",
            action="jobs.retry",
            target=f"job:{job_id}",
            data={"kind": job.kind},
            now=now,
        )
    return RedirectResponse("/admin/jobs", status_code=303)
