"""Web helpers: templates with i18n, CSRF, security headers, request ids, one error path.

Domain errors become RFC 9457 problem+json for API calls (paths under /api/) and a friendly page
for people. Unknown exceptions become a bare 500 carrying only the request id.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import re
import secrets
import time
import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import structlog
from babel.numbers import format_decimal
from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2_fragments.fastapi import Jinja2Blocks
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from prakerja.kit import clock, i18n
from prakerja.kit.errors import DomainError, Invalid, http_status
from prakerja.kit.money import format_rupiah
from prakerja.settings import get_settings

log = structlog.get_logger("prakerja.web")

_lang: contextvars.ContextVar[str] = contextvars.ContextVar("lang", default=i18n.DEFAULT_LANGUAGE)
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
CSRF_COOKIE, CSRF_FIELD, LANG_COOKIE = "pk_csrf", "csrf_token", "lang"


#: A row id in a URL path: bounded so a huge number is a 422, never a database overflow.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def current_language() -> str:
    return _lang.get()


def translate(message: str, **params: Any) -> str:
    """A msgid in the page's language, with %(name)s parameters: what `_` does in templates,
    for views that word a message in Python."""
    text = i18n.translations(_lang.get()).gettext(message)
    return text % params if params else text


def with_lang(request: Request, code: str) -> str:
    """This page's own query with `lang` set: switching language keeps a search or filter."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return "?" + urlencode([*params, ("lang", code)])


def duration(minutes: int) -> str:
    """A span people read at a glance: minutes up to two hours, then hours up to two days,
    then days ("45 menit", "26 jam", "3 hari"); the sign is the caller's to show."""
    n = abs(int(minutes))
    if n < 120:
        return translate("%(n)s min", n=n)
    if n < 48 * 60:
        return translate("%(n)s h", n=n // 60)
    return translate("%(n)s days", n=n // (24 * 60))


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(_lang.get()).ngettext(singular, plural, n)


def _make_templates() -> Jinja2Blocks:
    from importlib import resources

    directory = str(resources.files("prakerja").joinpath("templates"))
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory), autoescape=True, extensions=["jinja2.ext.i18n"]
    )
    templates = Jinja2Blocks(env=env)
    env.install_gettext_callables(translate, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["rupiah"] = lambda amount: format_rupiah(int(amount), _lang.get())
    env.globals["lang"] = current_language
    env.filters["wib"] = clock.wib  # every time shown to people: Jakarta time, labelled
    env.filters["wib_date"] = clock.wib_date
    env.globals["duration"] = duration
    env.globals["with_lang"] = with_lang
    env.filters["decimal"] = decimal
    return templates


def decimal(value: float, pattern: str = "0.00") -> str:
    """A number as the page's language writes it: "4,50" in Indonesian, "4.50" in English
    (`pattern` is Babel's: "0.0", "+0.00;-0.00")."""
    locale = "id_ID" if _lang.get() == "id" else "en_US"
    return format_decimal(value, format=pattern, locale=locale)


templates: Jinja2Templates = _make_templates()


def csrf_token(request: Request) -> str:
    """The form token for this browser: an HMAC of its CSRF cookie (double-submit)."""
    raw = str(request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", ""))
    return hmac.new(
        get_settings().session_secret.encode(), raw.encode(), hashlib.sha256
    ).hexdigest()


async def csrf_protect(request: Request) -> None:
    """Dependency for HTML form routes: unsafe methods must carry the matching token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    sent = str(form.get(CSRF_FIELD, ""))
    if not request.cookies.get(CSRF_COOKIE) or not hmac.compare_digest(sent, csrf_token(request)):
        raise CsrfFailed()


class CsrfFailed(DomainError):
    code = "csrf_failed"
    title = "The form expired. Please go back, reload the page and try again."
    kind = "forbidden"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    block: str | None = None,
) -> HTMLResponse:
    """Render a page (or one block of it, for partial updates) with the shared context."""
    ctx = {
        "request": request,
        "csrf_token": csrf_token(request),
        "_": translate,
        "lang_code": _lang.get(),
        "user": getattr(request.state, "user", None),
        "settings": get_settings(),
    }
    ctx.update(context or {})
    if block:
        return templates.TemplateResponse(
            request, name, ctx, status_code=status_code, block_name=block
        )  # type: ignore[call-arg]
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


# Paths that take bodies above `request_max_bytes` (a staff CSV import): path -> bytes.
_LARGE_BODIES: dict[str, int] = {}


def allow_large_body(path: str, max_bytes: int) -> None:
    """Let one route (an import of big files) take bodies up to `max_bytes`."""
    _LARGE_BODIES[path] = max_bytes


class BodyTooLarge(StarletteHTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodyLimit:
    """Pure ASGI middleware: refuse a body above the limit before it is read or spooled.

    A declared Content-Length above it gets 413 at once; a body sent without one (chunked) is
    counted as it arrives and the request ends in 413 as soon as it passes the limit, so a
    parser never writes more than the limit to memory or disk.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _LARGE_BODIES.get(scope["path"], get_settings().request_max_bytes)
        declared = HTTPConnection(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = await _http_error(Request(scope), BodyTooLarge())
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)


def _log_request(scope: Any, status: int, started: float) -> None:
    """One line per request: method, the route's template (never the raw path, which can hold
    a token or an id), status and time; the request id comes from the bound context."""
    route = getattr(scope.get("route"), "path", None) or (
        # a plain Starlette route or mount (the OpenAPI document, static files) names no
        # template: its endpoint's name says which it was
        f"<{getattr(scope['endpoint'], '__name__', type(scope['endpoint']).__name__)}>"
        if scope.get("endpoint") is not None
        else "unmatched"
    )
    ms = round((time.perf_counter() - started) * 1000, 1)
    log = structlog.get_logger("prakerja.request")  # bound at the call: follows the config
    log.info("request", method=scope["method"], route=route, status=status, ms=ms)


class RequestContext:
    """Pure ASGI middleware: request id, language, a CSRF cookie for new browsers, security
    headers. (Starlette's BaseHTTPMiddleware costs a task and a stream per request; this runs
    inline, and the context variables it sets reach the endpoint as they are.)"""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        state = scope.setdefault("state", {})
        given = conn.headers.get("x-request-id", "")
        request_id = given[:64] if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        state["request_id"] = request_id
        asked = conn.query_params.get("lang")
        token = _lang.set(
            i18n.pick_language(
                asked, conn.cookies.get(LANG_COOKIE), get_settings().default_language
            )
        )
        if not conn.cookies.get(CSRF_COOKIE):
            state["new_csrf"] = secrets.token_urlsafe(24)
        secure = "; secure" if scope.get("scheme") == "https" else ""

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
                if state.get("new_csrf"):
                    headers.append(
                        "set-cookie",
                        f"{CSRF_COOKIE}={state['new_csrf']}; HttpOnly; Path=/"
                        f"; SameSite=lax{secure}",
                    )
                if asked in i18n.LANGUAGES:
                    headers.append(
                        "set-cookie",
                        f"{LANG_COOKIE}={asked}; Max-Age=31536000; Path=/; SameSite=lax",
                    )
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if get_settings().log_requests:
                _log_request(scope, state.get("status", 500), started)
            structlog.contextvars.clear_contextvars()
            _lang.reset(token)


def install(app: FastAPI) -> None:
    """Add middleware and error handlers to an app."""
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestContext)  # outermost: its headers reach BodyLimit's 413 too
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _busy)  # type: ignore[arg-type]
    app.add_exception_handler(PoolTimeout, _busy)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/.well-known/")) or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def problem(
    status: int,
    title: str,
    *,
    type_: str = "about:blank",
    detail: str = "",
    request: Request | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem response."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", "")
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def _page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail},
        status_code=status,
    )


async def _domain_error(request: Request, exc: DomainError) -> Response:
    status = http_status(exc)
    title = translate(exc.title)
    detail = exc.detail if exc.detail != exc.title else ""
    if wants_json(request):
        return problem(
            status,
            title,
            type_=f"/problems/{exc.code}",
            detail=detail,
            request=request,
            code=exc.code,
            **exc.extra,
        )
    if exc.kind == "auth" and request.method == "GET":
        target = exc.extra.get("login_url", "/login")
        return RedirectResponse(f"{target}?next={quote(request.url.path)}", status_code=303)
    return _page(request, status, title, detail)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    if wants_json(request):
        return problem(
            422,
            translate("Invalid input"),
            type_="/problems/invalid",
            request=request,
            code="invalid",
            errors=errors,
        )
    return _page(
        request,
        422,
        translate("Invalid input"),
        "; ".join(f"{'.'.join(e['loc'][1:])}: {e['msg']}" for e in errors),
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400:  # an unparseable body is bad input like any other: one answer
        return await _domain_error(request, Invalid(str(exc.detail or "")))
    title = {
        404: "Not found",
        405: "Method not allowed",
        401: "Login required",
        403: "Not allowed",
        413: "The request is too large",
    }.get(exc.status_code, "Request failed")
    response: Response
    if wants_json(request):
        response = problem(
            exc.status_code,
            translate(title),
            request=request,
            detail=str(exc.detail) if exc.detail else "",
        )
    else:
        response = _page(request, exc.status_code, translate(title), "")
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


def _allowed_methods(request: Request) -> str:
    """Every method any route serves at this path (Starlette lists only the first route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


BUSY_RETRY_AFTER_S = 2


async def _busy(request: Request, exc: OperationalError | PoolTimeout) -> Response:
    """The database refused or dropped the work for a passing reason (no free connection, a
    restart, a deadlock or lock timeout): the transaction rolled back, so nothing changed and
    the same request may simply be sent again. 503 with Retry-After says exactly that, where a
    500 would say the request itself broke something."""
    reason = type(getattr(exc, "orig", None) or exc).__name__
    log.warning("database_busy", error=reason, path=request.url.path)
    title = translate("The service is busy; please try again in a moment")
    response: Response
    if wants_json(request):
        response = problem(503, title, type_="/problems/busy", request=request, code="busy")
    else:
        response = _page(request, 503, title, "")
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", "")
    log.error("unhandled_error", error=type(exc).__name__, path=request.url.path)
    if wants_json(request):
        return problem(500, "Internal Server Error", request=request)
    return HTMLResponse(f"Internal Server Error (request {request_id})", status_code=500)
