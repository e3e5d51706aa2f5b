"""Structured logs (structlog) with the request id; personal data never goes into an event."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_NIK_LIKE = re.compile(r"\b\d{16}\b")


def _scrub(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: mask anything shaped like a NIK/KK (16 digits) in any field."""
    for key, value in event.items():
        if isinstance(value, str) and _NIK_LIKE.search(value):
            event[key] = _NIK_LIKE.sub("****************", value)
    return event


def configure_logging(json_output: bool = False) -> None:
    """Configure structlog once per process."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
