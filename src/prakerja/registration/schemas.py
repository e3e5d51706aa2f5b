"""JSON shapes of the registration API (field constraints mirror the service's checks)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from prakerja.registration import service_profile as sp

Step = Literal["identity", "profile", "ktp", "face", "phone", "statement", "test", "done"]


class RegistrationProblem(BaseModel):
    """RFC 9457 problem details, as every error of this API is returned."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    code: str | None = None
    field_errors: list[dict[str, str]] | None = Field(
        default=None, description="One {field, code, message} per refused form field"
    )
    errors: list[dict[str, Any]] | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting problem+json bodies for these statuses."""
    schema = RegistrationProblem.model_json_schema()
    return {
        s: {
            "description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": schema}},
        }
        for s in statuses
    }


class Region(BaseModel):
    province_code: str | None
    province_name: str | None
    regency_code: str | None
    regency_name: str | None


class MeRead(BaseModel):
    """Where the logged-in citizen's registration stands."""

    status: str = Field(description="One plain sentence, in the request's language")
    next_step: Step
    completed_steps: list[Step]
    nik_masked: str | None
    registry_status: Literal["none", "matched", "mismatch", "pending"]
    face_status: Literal["none", "pass", "fail"]
    region: Region


Digits16 = Annotated[
    str,
    Field(
        min_length=16,
        max_length=24,
        examples=["3276014501900001"],
        description="16 digits; spaces, dots and dashes are ignored",
    ),
]


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik: Digits16
    kk: Digits16
    birth_date: dt.date


def _choices(values: tuple[str, ...]) -> Any:
    return Literal[values]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: Annotated[str, Field(min_length=1, max_length=sp.MAX_NAME)]
    mother_name: Annotated[str, Field(min_length=1, max_length=sp.MAX_NAME)]
    address: Annotated[str, Field(min_length=1, max_length=sp.MAX_ADDRESS)]
    domicile_regency_code: Annotated[str, Field(pattern=r"^\d{2}\.\d{2}$", examples=["32.76"])]
    village_type: _choices(sp.VILLAGE_TYPES)  # type: ignore[valid-type]
    education: _choices(sp.EDUCATION)  # type: ignore[valid-type]
    marital_status: _choices(sp.MARITAL)  # type: ignore[valid-type]
    dependants: Annotated[int, Field(ge=0, le=sp.MAX_DEPENDANTS)]
    employment_status: _choices(sp.EMPLOYMENT)  # type: ignore[valid-type]
    occupation: _choices(sp.OCCUPATIONS)  # type: ignore[valid-type]
    disability: bool = False
    migrant_status: _choices(sp.MIGRANT) = "none"  # type: ignore[valid-type]
    other_aid: Annotated[list[_choices(sp.AID)], Field(max_length=3)] = []  # type: ignore[valid-type]
    desired_training: Annotated[str, Field(max_length=sp.MAX_TRAINING)] = ""

    def to_input(self) -> sp.ProfileInput:
        return sp.ProfileInput(**{**self.model_dump(), "other_aid": tuple(self.other_aid)})


class PhoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, Field(min_length=8, max_length=20, examples=["+6281234567890"])]


class PhoneConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(pattern=r"^\d{6}$", examples=["123456"])]
