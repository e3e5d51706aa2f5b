"""Domain errors: a stable code and a human title, never an HTTP status (the edge maps those)."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A rule refused the request; nothing was changed."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "The request was refused"
    kind: ClassVar[str] = (
        "invalid"  # invalid | not_found | conflict | forbidden | auth | rate | unavailable
    )

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class Invalid(DomainError):
    code = "invalid"
    title = "Invalid input"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"
    kind = "not_found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflicts with the current state"
    kind = "conflict"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Not allowed"
    kind = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Login required"
    kind = "auth"


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many attempts"
    kind = "rate"


class Unavailable(DomainError):
    code = "unavailable"
    title = "A partner service did not answer"
    kind = "unavailable"


HTTP_STATUS = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "forbidden": 403,
    "auth": 401,
    "rate": 429,
    "unavailable": 503,
}


def http_status(error: DomainError) -> int:
    """The HTTP status for a domain error (the only place statuses are chosen)."""
    return HTTP_STATUS.get(error.kind, 400)
