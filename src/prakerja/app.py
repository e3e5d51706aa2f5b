"""The FastAPI application: every context's JSON API and HTML views on one server."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

import prakerja.models  # noqa: F401  (all tables)
from prakerja import __version__, apidocs, portal
from prakerja.contexts import import_all
from prakerja.kit import jobs, routing, web
from prakerja.kit.db import Database
from prakerja.kit.logging import configure_logging
from prakerja.settings import Settings, get_settings


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Route bodies run on threads of their own (kit.routing.new_router); anyio's shared pool serves
    # sync dependencies (a partner's signature check). Together as many threads as pooled
    # database connections, so a burst queues for a thread, not for a connection.
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = routing.dependency_threads(app.state.settings.web_threads)
    yield


def web_engine_options(settings: Settings) -> dict[str, Any]:
    """The web processes' pool: a connection per route thread (plus headroom), a bounded wait
    for one, and on PostgreSQL a bounded wait for row locks (see settings.web_lock_timeout_ms).
    Connections per host: processes x (web_threads + 10); keep it under max_connections. The
    event loop's own connection for the caller lookup (`Database.loop_reads`) is one of them."""
    options: dict[str, Any] = {
        "pool_size": settings.web_threads,
        "max_overflow": 10,
        "pool_timeout": settings.web_pool_timeout_s,
    }
    if settings.database_url.startswith("postgresql"):
        options["connect_args"] = {
            "options": f"-c lock_timeout={settings.web_lock_timeout_ms}",
            # an unreachable server fails a connect in seconds, not after TCP's minutes: the
            # caller lookup connects on the event loop (Database.loop_reads)
            "connect_timeout": 5,
        }
    return options


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the app on the given database (tests) or on the configured one."""
    settings = settings or get_settings()
    configure_logging(settings.log_json)
    app = FastAPI(
        title="prakerja",
        version=__version__,
        description="Kartu Prakerja-style programme platform: citizen, operator and partner APIs.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by prakerja.apidocs: no CDN, no script
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.db = db or Database(settings.database_url, **web_engine_options(settings))
    app.state.settings = settings
    web.install(app)
    static = str(resources.files("prakerja").joinpath("static"))
    app.mount("/static", StaticFiles(directory=static), name="static")
    import_all("jobs")
    app.include_router(portal.router)
    app.include_router(apidocs.router)
    for module in import_all("api") + import_all("views"):
        app.include_router(module.router)
    _problem_json_errors(app)
    if settings.run_worker_in_web:
        _start_inline_worker(app)
    return app


_TOO_LARGE = {
    "description": "The body is larger than PRAKERJA_REQUEST_MAX_BYTES (problem+json)",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


def _problem_json_errors(app: FastAPI) -> None:
    """Document every error response as application/problem+json, which is what kit.web sends
    (FastAPI documents its built-in 422 as application/json)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for operation in (
            op
            for item in schema.get("paths", {}).values()
            for op in item.values()
            if isinstance(op, dict)
        ):
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status)[0] in "45" and "application/json" in content:
                    content.setdefault("application/problem+json", {"schema": {"type": "object"}})
                    del content["application/json"]
            if "requestBody" in operation:  # kit.web.BodyLimit answers before the route runs
                operation["responses"].setdefault("413", _TOO_LARGE)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook


def _start_inline_worker(app: FastAPI) -> None:
    """The demo runs one job worker thread inside the web process (SQLite: one worker only)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=jobs.work_forever,
        args=(app.state.db,),
        kwargs={"should_stop": stop.is_set},
        daemon=True,
        name="jobs",
    )
    thread.start()
    app.state.stop_worker = stop
