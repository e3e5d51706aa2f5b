"""Citizen pages: register, confirm email, log in with an emailed code, log out, reset password."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from prakerja.identity import rules, service
from prakerja.identity.errors import CodeExpired, LoginLocked
from prakerja.kit.clock import utc_now
from prakerja.kit.errors import DomainError, http_status
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import csrf_protect, current_language, render, translate

router = new_router(dependencies=[Depends(csrf_protect)], include_in_schema=False)

CHALLENGE_COOKIE = "pk_login"
Text = Annotated[str, Form()]


def client_ip(request: Request) -> str:
    """The caller's address as the server sees it (proxies set it via uvicorn's proxy headers)."""
    return request.client.host if request.client else ""


def message(exc: DomainError) -> str:
    """The error's title in the page's language."""
    return translate(exc.title)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The login cookie: HTTP-only, same-site lax, secure over HTTPS, gone when the browser ends."""
    response.set_cookie(
        service.COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https",
    )


def _form(
    request: Request, name: str, exc: DomainError | None = None, **ctx: object
) -> HTMLResponse:
    status = http_status(exc) if exc else 200
    return render(
        request,
        f"identity/{name}.html",
        {"error": message(exc) if exc else "", **ctx},
        status_code=status,
    )


def _notice(
    request: Request,
    title: str,
    text: str,
    link: str = "",
    link_text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "identity/notice.html",
        {"title": title, "text": text, "link": link, "link_text": link_text},
        status_code=status_code,
    )


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> HTMLResponse:
    return _form(request, "register", email="", language=current_language())


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request, session: DbSession, email: Text, password: Text, language: Text = "id"
) -> HTMLResponse:
    try:
        service.register_account(
            session, email=email, password=password, language=language, now=utc_now()
        )
    except DomainError as exc:
        service.settle(session, exc)
        return _form(request, "register", exc, email=email, language=language)
    return _notice(
        request,
        "Check your email",
        "We sent you a link to confirm your email address. It is valid for 48 hours.",
    )


@router.get("/verify-email", response_class=HTMLResponse)
def verify_email(request: Request, session: DbSession, token: str = "") -> HTMLResponse:
    try:
        service.verify_email(session, token=token, now=utc_now())
    except DomainError as exc:
        service.settle(session, exc)
        return _notice(request, "Email not confirmed", exc.title, status_code=http_status(exc))
    return _notice(
        request,
        "Email confirmed",
        "Your email address is confirmed. You can log in now.",
        "/login",
        "Log in",
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> HTMLResponse:
    return _form(request, "login", email="", next=rules.safe_next(next, ""))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request, session: DbSession, email: Text, password: Text, next: Text = ""
) -> Response:
    target = rules.safe_next(next, "")
    try:
        challenge = service.start_login(
            session, email=email, password=password, ip=client_ip(request), now=utc_now()
        )
    except DomainError as exc:
        service.settle(session, exc)
        return _form(request, "login", exc, email=email, next=target)
    response = RedirectResponse(f"/login/code?next={quote(target)}", status_code=303)
    response.set_cookie(
        CHALLENGE_COOKIE,
        challenge,
        httponly=True,
        samesite="lax",
        max_age=7200,
        path="/login",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login/code", response_class=HTMLResponse)
def code_page(request: Request, next: str = "") -> Response:
    if not request.cookies.get(CHALLENGE_COOKIE):
        return RedirectResponse("/login", status_code=303)
    return _form(request, "login_code", next=rules.safe_next(next, ""), sent=False)


@router.post("/login/code", response_class=HTMLResponse)
def code(
    request: Request,
    session: DbSession,
    code: Text = "",
    next: Text = "",
    action: Text = "verify",
) -> Response:
    challenge, target = request.cookies.get(CHALLENGE_COOKIE, ""), rules.safe_next(next, "")
    try:
        if action == "resend":
            service.resend_login_code(session, challenge_id=challenge, now=utc_now())
            return _form(request, "login_code", next=target, sent=True)
        web = service.complete_login(session, challenge_id=challenge, code=code, now=utc_now())
    except (CodeExpired, LoginLocked) as exc:
        service.settle(session, exc)
        page = _form(request, "login", exc, email="", next=target)
        page.delete_cookie(CHALLENGE_COOKIE, path="/login")
        return page
    except DomainError as exc:
        service.settle(session, exc)
        return _form(request, "login_code", exc, next=target, sent=False)
    response = RedirectResponse(rules.safe_next(target), status_code=303)
    set_session_cookie(request, response, web.token)
    response.delete_cookie(CHALLENGE_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    token = request.cookies.get(service.COOKIE, "")
    if token:
        service.logout(session, token=token, now=utc_now())
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(service.COOKIE, path="/")
    return response


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> HTMLResponse:
    return _form(request, "forgot", email="")


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(request: Request, session: DbSession, email: Text) -> HTMLResponse:
    service.request_password_reset(session, email=email, now=utc_now())
    return _notice(
        request,
        "Check your email",
        "If an account uses this address, we sent it a link to choose a new password. "
        "The link is valid for one hour.",
    )


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, token: str = "") -> HTMLResponse:
    return _form(request, "reset", token=token)


@router.post("/password/reset", response_class=HTMLResponse)
def reset(request: Request, session: DbSession, token: Text, password: Text) -> HTMLResponse:
    try:
        service.reset_password(session, token=token, password=password, now=utc_now())
    except DomainError as exc:
        service.settle(session, exc)
        return _form(request, "reset", exc, token=token)
    return _notice(
        request,
        "Password changed",
        "Your password is changed and every device was logged out. Log in again.",
        "/login",
        "Log in",
    )
