"""Routers, the request's transaction, and the threads route bodies run on.

Every router is made with `new_router` and every route that touches the database takes a
`DbSession`. A sync route body runs on threads of its own and ends its transaction there
(`_on_route_threads`); the session opens and closes on the event loop. docs/architecture.md,
"Threads per request", says why.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from prakerja.kit.db import Database
from prakerja.settings import get_settings


async def _db_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request. Opening a session does no I/O, so it happens on the event
    loop. A sync route body ends the transaction on its own thread (`_on_route_threads`);
    whatever is left open (an async route, a failed dependency) is ended on a worker thread."""
    db: Database = request.app.state.db
    session = db.sessions()
    try:
        yield session
    except BaseException:
        await _finish(session, commit=False)
        raise
    await _finish(session, commit=True)


async def _finish(session: Session, *, commit: bool) -> None:
    if not session.in_transaction():  # ended by its route thread: no connection left to return
        session.close()  # no I/O, so on the event loop
        return
    with anyio.CancelScope(shield=True):  # a cancelled request still returns its connection
        await _ending(session, commit=commit)


_limiters: dict[str, anyio.CapacityLimiter] = {}


def _threads(kind: str, tokens: int) -> anyio.CapacityLimiter:
    """This process's limiter for one kind of thread work, made on first use (inside the event
    loop, which anyio wants)."""
    limiter = _limiters.get(kind)
    if limiter is None:
        limiter = _limiters[kind] = anyio.CapacityLimiter(max(1, tokens))
    return limiter


async def _ending(session: Session, *, commit: bool) -> None:
    """Commit or roll back on threads of their own (as FastAPI does for a dependency's exit):
    a finished request holding a connection must not queue behind new requests for the route
    threads, or connections pile up past the pool under load."""
    limiter = _threads("end", get_settings().web_threads)
    await anyio.to_thread.run_sync(_end, session, commit, limiter=limiter)


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dependency_threads(web_threads: int) -> int:
    """Threads of the shared pool, which now serves only short sync dependencies (a partner's
    signature check; the caller's session lookup runs on the event loop, see
    `identity.deps`): a quarter of `web_threads`, at least 2."""
    return max(2, web_threads // 4)


def route_threads(web_threads: int) -> int:
    """Threads for route bodies: the rest, so a process runs `web_threads` threads in all, as
    many as its pooled connections (more threads only fight over the GIL)."""
    return max(1, web_threads - dependency_threads(web_threads))


def _on_route_threads(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A sync route body run on threads of its own, as an async endpoint.

    FastAPI runs sync route bodies, sync dependencies and the validation of a sync route's
    answer on one thread pool. A request whose body has finished still holds its transaction
    (and its row locks) until its answer is validated, so bodies waiting on those locks could
    hold every thread that validation needs: a deadlock the purchase bench hit. Here bodies
    take their own threads (`route_threads`); the answer is validated on the event loop
    and the shared pool serves only short sync dependencies.

    A body that returns commits the request's transaction on the same thread (one thread
    hand-off per request fewer); one that raises rolls it back there too.
    The transaction ends before the answer is validated either way, as FastAPI ends a
    function-scoped dependency."""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        limiter = _threads("route", route_threads(get_settings().web_threads))
        session = next((v for v in kwargs.values() if isinstance(v, Session)), None)
        call = functools.partial(_body_then_commit, endpoint, session, args, kwargs)
        return await anyio.to_thread.run_sync(call, limiter=limiter)

    return run


def _body_then_commit(
    endpoint: Callable[..., Any],
    session: Session | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    try:
        result = endpoint(*args, **kwargs)
        if session is not None and session.in_transaction():
            session.commit()
    except BaseException:
        # Rolled back here, at once, rather than on the event loop's behalf: the connection and
        # its row locks are freed without waiting for the loop or another thread. If even the
        # rollback fails, `_db_session` tries again; the body's own error is what propagates.
        if session is not None:
            with contextlib.suppress(Exception):
                session.rollback()
        raise
    return result


class OwnThreadsRoute(APIRoute):
    """The route class of every router: sync bodies run through `_on_route_threads`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if inspect.isfunction(endpoint) and not inspect.iscoroutinefunction(endpoint):
            endpoint = _on_route_threads(endpoint)
        super().__init__(path, endpoint, **kwargs)


def new_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose sync routes run on threads of their own (see `_on_route_threads`)."""
    return APIRouter(route_class=OwnThreadsRoute, **kwargs)


# The transaction ends before the response is sent, so a failed commit is never reported as a
# success. Views that catch a DomainError to re-render a form must call session.rollback().
DbSession = Annotated[Session, Depends(_db_session, scope="function")]
