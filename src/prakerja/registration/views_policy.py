"""Operator pages: policy versions (draft, edit, diff preview, publish) and list imports."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from prakerja.identity.deps import require_staff
from prakerja.identity.model import Account
from prakerja.kit import consoles, jobs
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import DomainError, Invalid, http_status
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import RowId, allow_large_body, csrf_protect, render
from prakerja.registration import eligibility, policy, service_lists
from prakerja.registration import service_eligibility as service
from prakerja.registration import service_policy_diff as diffs

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)

# Module-level dependencies so tests (and the app) can override them by identity.
READERS = ("operator", "analyst", "auditor")
policy_reader = require_staff(*READERS)
policy_writer = require_staff("operator")
Reader = Annotated[Account, Depends(policy_reader)]
Writer = Annotated[Account, Depends(policy_writer)]
consoles.register("/admin/policy", "Programme policy", READERS, rank=10)
consoles.register("/admin/lists", "Exclusion and priority lists", READERS, rank=10)
LIST_FILE_MAX_BYTES = 200 * 1024 * 1024  # ~12 million rows of nik,reason
allow_large_body("/admin/lists/import", LIST_FILE_MAX_BYTES + 64 * 1024)  # + the form around it


async def _form(request: Request) -> FormData:
    return await request.form()  # parsed once; csrf_protect read the same cached form


Form = Annotated[FormData, Depends(_form)]


def _actor(account: Account) -> str:
    return f"staff:{account.public_id}"


def _error_context(exc: DomainError) -> dict[str, Any]:
    fields = {
        str(e.get("field")): str(e.get("code", "")) for e in exc.extra.get("field_errors", [])
    }
    return {
        "error": exc.title,
        "detail": exc.detail if exc.detail != exc.title else "",
        "field_errors": fields,
    }


def _versions_page(
    request: Request, session: DbSession, status: int = 200, **extra: Any
) -> HTMLResponse:
    current, _ = service.current_policy(session)
    return render(
        request,
        "eligibility/policy_list.html",
        {
            "versions": service.list_versions(session),
            "current": current,
            "presets": list(policy.PRESETS),
            **extra,
        },
        status_code=status,
    )


@router.get("/admin/policy", response_class=HTMLResponse)
def policy_list(request: Request, session: DbSession, staff: Reader) -> HTMLResponse:
    return _versions_page(request, session)


@router.post("/admin/policy", response_class=HTMLResponse)
def policy_create(request: Request, session: DbSession, staff: Writer, form: Form) -> Response:
    source = str(form.get("source", ""))
    preset = source.removeprefix("preset:") if source.startswith("preset:") else None
    copy = source.removeprefix("copy:") if source.startswith("copy:") else None
    try:
        if preset is None and not (copy or "").isdigit():
            raise Invalid("Choose a preset or a version to copy")
        version = service.create_draft(
            session,
            code=str(form.get("code", "")),
            actor=_actor(staff),
            now=utc_now(),
            preset=preset,
            copy_from=int(copy) if copy else None,
        )
    except DomainError as exc:
        session.rollback()
        return _versions_page(
            request,
            session,
            http_status(exc),
            **_error_context(exc),
            form={"code": form.get("code", ""), "source": source},
        )
    return RedirectResponse(f"/admin/policy/{version.id}", status_code=303)


def _version_page(
    request: Request, session: DbSession, version_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    version = service.get_version(session, version_id)
    rules = service.rules_of(version)
    current, _ = service.current_policy(session)
    return render(
        request,
        "eligibility/policy_view.html",
        {
            "version": version,
            "rules": policy.rules_to_json(rules),
            "values": extra.pop("values", policy.rules_to_json(rules)),
            "is_current": current.id == version.id,
            "fields": policy.FIELD_NAMES,
            "occupations": policy.OCCUPATIONS,
            "aid_programmes": policy.AID_PROGRAMMES,
            "schemes": policy.SCHEMES,
            "labels": policy.FIELD_LABELS,
            "choice_labels": policy.CHOICE_LABELS,
            **extra,
        },
        status_code=status,
    )


@router.get("/admin/policy/{version_id}", response_class=HTMLResponse)
def policy_view(
    request: Request, session: DbSession, staff: Reader, version_id: RowId
) -> HTMLResponse:
    return _version_page(request, session, version_id)


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: form.get(k) for k in policy.FIELD_NAMES}
    values["excluded_occupations"] = form.getlist("excluded_occupations")
    values["other_aid_programmes"] = form.getlist("other_aid_programmes")
    return values


@router.post("/admin/policy/{version_id}/edit", response_class=HTMLResponse)
def policy_edit(
    request: Request, session: DbSession, staff: Writer, form: Form, version_id: RowId
) -> Response:
    values = _form_values(form)
    rules, errors = policy.rules_from_form(values)
    try:
        if rules is None:
            raise service.PolicyInvalid(
                field_errors=[{"field": k, "code": v} for k, v in errors.items()]
            )
        service.update_draft(
            session, version_id=version_id, rules=rules, actor=_actor(staff), now=utc_now()
        )
    except DomainError as exc:
        session.rollback()
        return _version_page(
            request, session, version_id, http_status(exc), values=values, **_error_context(exc)
        )
    return RedirectResponse(f"/admin/policy/{version_id}?saved=1", status_code=303)


@router.post("/admin/policy/{version_id}/publish", response_class=HTMLResponse)
def policy_publish(
    request: Request, session: DbSession, staff: Writer, version_id: RowId
) -> Response:
    try:
        service.publish(session, version_id=version_id, actor=_actor(staff), now=utc_now())
    except DomainError as exc:
        session.rollback()
        return _version_page(request, session, version_id, http_status(exc), **_error_context(exc))
    return RedirectResponse(f"/admin/policy/{version_id}?published=1", status_code=303)


@router.get("/admin/policy/{version_id}/diff", response_class=HTMLResponse)
def policy_diff(
    request: Request, session: DbSession, staff: Reader, version_id: RowId
) -> HTMLResponse:
    """The newest preview of this version: being computed (the page refreshes itself), done
    (and whether the rules changed since), failed, or none yet (a button asks for one)."""
    version = service.get_version(session, version_id)
    run = diffs.latest(session, version_id)
    report = diffs.from_json(run.report) if run is not None and run.report else None
    reasons = (
        sorted(
            set(report.reasons_added) | set(report.reasons_removed),
            key=eligibility.REASON_CODES.index,
        )
        if report
        else []
    )
    return render(
        request,
        "eligibility/policy_diff.html",
        {
            "version": version,
            "run": run,
            "state": diffs.state(session, run),
            "report": report,
            "version_id": version_id,
            "reasons": reasons,
            "labels": policy.FIELD_LABELS,
        },
    )


@router.post("/admin/policy/{version_id}/diff")
def request_policy_diff(session: DbSession, staff: Reader, version_id: RowId) -> RedirectResponse:
    """Queue a preview (computed by a worker: at national size it takes minutes)."""
    diffs.request(session, version_id=version_id, actor=_actor(staff), now=utc_now())
    return RedirectResponse(f"/admin/policy/{version_id}/diff", status_code=303)


def _lists_page(
    request: Request, session: DbSession, status: int = 200, **extra: Any
) -> HTMLResponse:
    return render(
        request,
        "eligibility/lists.html",
        {"imports": service_lists.list_imports(session), "kinds": eligibility.LIST_KINDS, **extra},
        status_code=status,
    )


@router.get("/admin/lists", response_class=HTMLResponse)
def lists_page(request: Request, session: DbSession, staff: Reader) -> HTMLResponse:
    return _lists_page(request, session)


@router.get("/admin/lists/import", response_class=HTMLResponse)
def lists_import_form(request: Request, session: DbSession, staff: Writer) -> HTMLResponse:
    return _lists_page(request, session)


@router.get("/admin/lists/{import_id}", response_class=HTMLResponse)
def list_import_view(
    request: Request, session: DbSession, staff: Reader, import_id: RowId
) -> HTMLResponse:
    return render(
        request,
        "eligibility/list_import.html",
        {"batch": service_lists.get_import(session, import_id)},
    )


def _save_upload(upload: UploadFile, folder: str) -> Path:
    target = Path(folder) / "upload.csv"
    upload.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    if target.stat().st_size > LIST_FILE_MAX_BYTES:
        raise service_lists.ListFileInvalid("The file is larger than 200 MB; split it into parts")
    return target


@router.post("/admin/lists/import", response_class=HTMLResponse)
def lists_import(request: Request, session: DbSession, staff: Writer, form: Form) -> Response:
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise service_lists.ListFileInvalid("Choose a CSV file to upload")
        with tempfile.TemporaryDirectory() as folder:
            saved = _save_upload(upload, folder)
            kind, source = str(form.get("kind", "")), str(form.get("source", ""))
            actor, now, name = _actor(staff), utc_now(), Path(upload.filename).name
            if saved.stat().st_size > service_lists.INLINE_MAX_BYTES:  # a worker imports it
                queued = service_lists.queue_upload(
                    session, path=saved, kind=kind, source=source,
                    file_name=name, actor=actor, now=now,
                )  # fmt: skip
                return RedirectResponse(f"/admin/lists/uploads/{queued.id}", status_code=303)
            report = service_lists.import_list(
                session, path=saved, kind=kind, source=source, actor=actor, now=now,
                file_name=name,
            )  # fmt: skip
    except DomainError as exc:
        session.rollback()
        return _lists_page(
            request,
            session,
            http_status(exc),
            **_error_context(exc),
            form={"kind": form.get("kind", ""), "source": form.get("source", "")},
        )
    return RedirectResponse(f"/admin/lists/{report.import_id}", status_code=303)


@router.get("/admin/lists/uploads/{upload_id}", response_class=HTMLResponse)
def list_upload_view(
    request: Request, session: DbSession, staff: Reader, upload_id: RowId
) -> Response:
    """A large upload: being imported (the page refreshes itself), failed (why), or done (on
    to its import report)."""
    upload = service_lists.get_upload(session, upload_id)
    if upload.status == "done" and upload.import_id is not None:
        return RedirectResponse(f"/admin/lists/{upload.import_id}", status_code=303)
    state = upload.status
    if state == "queued" and jobs.gave_up(session, upload.job_id):
        state = "failed"  # its job spent its retries: stop waiting, say so
    return render(request, "eligibility/list_upload.html", {"upload": upload, "state": state})
