"""JSON shapes of the identity API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    password: str = Field(
        min_length=10,
        max_length=256,
        description="At least 10 characters; common or trivial passwords are refused (422).",
    )
    language: Literal["id", "en"] = "id"


class RegisterOut(BaseModel):
    account_id: int
    email: str


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=256)


class ChallengeOut(BaseModel):
    challenge_id: str


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge_id: str = Field(max_length=64)
    code: str = Field(max_length=12)


class LoginOut(BaseModel):
    account_id: int


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    public_id: str
    email: str
    kind: str
    roles: list[str]
    language: str
    email_verified: bool
    phone: str | None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is returned."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    code: str | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the given error statuses, documented as application/problem+json."""
    schema = Problem.model_json_schema()
    return {
        s: {
            "content": {"application/problem+json": {"schema": schema}},
            "description": "Problem details (RFC 9457)",
        }
        for s in statuses
    }
