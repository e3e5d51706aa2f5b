"""The staff home's list of consoles: each context's views module names its staff pages here
when imported, so /staff (identity) lists later contexts' pages without importing them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Console:
    """A staff page, listed on /staff for whoever holds one of `roles` (admin holds all). The
    route itself enforces its roles; tests/test_staff_home.py checks the two agree."""

    path: str
    title: str  # an English msgid, the page's own heading
    roles: tuple[str, ...]
    rank: int


_CONSOLES: dict[str, Console] = {}


def register(path: str, title: str, roles: tuple[str, ...], *, rank: int = 50) -> None:
    """List a staff page on /staff (a context's views module, at import)."""
    _CONSOLES[path] = Console(path, title, roles, rank)


def for_staff(may_open: Callable[..., bool]) -> list[Console]:
    """The listed pages whose roles pass `may_open(*roles)` (`Account.has_role`), in rank
    order, then in the order the contexts registered them (the journey's order)."""
    found = [c for c in _CONSOLES.values() if may_open(*c.roles)]
    return sorted(found, key=lambda c: c.rank)
