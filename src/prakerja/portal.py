"""The shell's own pages: home, health, language switch, dev inbox (demo only)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

from prakerja.kit import notify
from prakerja.kit.errors import NotFound
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import render
from prakerja.settings import get_settings

router = new_router(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/healthz")
def health(session: DbSession) -> JSONResponse:
    session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


@router.get("/dev/inbox", response_class=HTMLResponse)
def dev_inbox(request: Request, session: DbSession) -> HTMLResponse:
    """What the platform would have sent by email and SMS (demo and dev only)."""
    if not get_settings().dev_inbox:
        raise NotFound()
    return render(request, "dev_inbox.html", {"messages": notify.inbox(session)})
