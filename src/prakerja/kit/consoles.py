"""The staff home's list of consoles: each context's views module names its staff pages here
when imported, so /staff (identity) lists later contexts' pages without importing them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Console:
    """A staff page, listed on /staff for whoever holds one of `roles` (admin holds all). The
    route itself enforces its roles; tests/test_staff_home.py checks the two agree."""

    path: str
    title: str  # an English msgid, the page's own heading
    roles: tuple[str, ...]
    rank: int
    # How many things on that page wait for someone (session -> count; one indexed query):
    # shown beside the link so the office sees at a glance what needs doing.
    waiting: Callable[[Any], int] | None = None


_CONSOLES: dict[str, Console] = {}


def register(
    path: str,
    title: str,
    roles: tuple[str, ...],
    *,
    rank: int = 50,
    waiting: Callable[[Any], int] | None = None,
) -> None:
    """List a staff page on /staff (a context's views module, at import); `waiting` counts
    what waits there for someone."""
    _CONSOLES[path] = Console(path, title, roles, rank, waiting)


def waiting_counts(session: Any, listed: list[Console]) -> dict[str, int]:
    """path -> how many things wait on that page, for the listed pages that count them."""
    return {c.path: c.waiting(session) for c in listed if c.waiting is not None}


def for_staff(may_open: Callable[..., bool]) -> list[Console]:
    """The listed pages whose roles pass `may_open(*roles)` (`Account.has_role`), in rank
    order, then in the order the contexts registered them (the journey's order)."""
    found = [c for c in _CONSOLES.values() if may_open(*c.roles)]
    return sorted(found, key=lambda c: c.rank)
