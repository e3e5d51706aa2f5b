"""The bounded contexts, in journey order, and helpers that load their optional modules."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

CONTEXTS = (
    "region",
    "identity",
    "registration",
    "selection",
    "wallet",
    "marketplace",
    "learning",
    "payout",
    "survey",
    "feedback",
    "analytics",
)


def import_all(kind: str) -> list[ModuleType]:
    """Import every `prakerja.<context>.<kind>*` module (e.g. views.py, views_policy.py).

    A context may split a module kind by use-case; each part is found by its name prefix.
    """
    found: list[ModuleType] = []
    for ctx in CONTEXTS:
        try:
            package = importlib.import_module(f"prakerja.{ctx}")
        except ModuleNotFoundError as exc:
            if exc.name != f"prakerja.{ctx}":
                raise
            continue
        names = sorted(
            m.name
            for m in pkgutil.iter_modules(package.__path__)
            if m.name == kind or m.name.startswith(kind + "_")
        )
        found.extend(importlib.import_module(f"prakerja.{ctx}.{n}") for n in names)
    return found
