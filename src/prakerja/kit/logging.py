"""Structured logs (structlog) with the request id; personal data never goes into an event."""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping
from typing import Any

import structlog

_NIK_LIKE = re.compile(r"\b\d{16}\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)8\d{7,11}\b")


def scrub_text(text: str) -> str:
    """Mask what looks like a NIK/KK (16 digits), an email address or an Indonesian mobile
    number. For text that may quote people (exception messages, outside systems' answers)."""
    text = _NIK_LIKE.sub("****************", text)
    text = _EMAIL.sub("***@***", text)
    return _PHONE.sub("08**********", text)


def _scrub(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: mask personal data shapes (`scrub_text`) in every string field."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = scrub_text(value)
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
