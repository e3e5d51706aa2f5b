"""The profile step: who the registrant is, as on the KTP, and their situation.

All fields are checked before anything is written; every problem is reported at once, per field.
Free text is stripped of control characters, whitespace-collapsed and length-limited; it is
stored as typed (HTML is escaped when shown, never interpreted).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.region import service as region
from prakerja.registration.model import Person
from prakerja.registration.service import (
    FieldError,
    FormInvalid,
    mark_step,
    person_for_account,
    require_step,
)

VILLAGE_TYPES = ("rural", "urban")
EDUCATION = ("none", "sd", "smp", "sma", "smk", "diploma", "s1", "s2", "s3")
MARITAL = ("single", "married", "divorced", "widowed")
EMPLOYMENT = ("unemployed", "laid_off", "employed", "self_employed", "student")
# The excluded occupations use the codes of registration.policy.OCCUPATIONS.
OCCUPATIONS = (
    "none",
    "private_employee",
    "entrepreneur",
    "farmer_fisher",
    "labourer",
    "civil_servant",
    "military",
    "police",
    "state_official",
    "village_official",
    "regional_parliament",
    "soe_board",
    "other",
)
MIGRANT = ("none", "prospective", "former")
AID = ("dtks", "bsu", "bpum")
MAX_NAME, MAX_ADDRESS, MAX_TRAINING, MAX_DEPENDANTS = 120, 300, 60, 20
_NAME = re.compile(r"[^\W\d_]+(?:[ .,'\-]+[^\W\d_]+)*\.?")


@dataclass(frozen=True)
class ProfileInput:
    """What the profile form (or API) sends; raw strings, checked by `check_profile`."""

    full_name: str
    mother_name: str
    address: str
    domicile_regency_code: str
    village_type: str
    education: str
    marital_status: str
    dependants: int | str
    employment_status: str
    occupation: str
    disability: bool = False
    migrant_status: str = "none"
    other_aid: tuple[str, ...] = ()
    desired_training: str = ""


def clean_text(value: str, limit: int) -> str:
    """Control and format characters removed, whitespace collapsed, at most `limit` chars."""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
    )
    return " ".join(kept.split())[: limit + 1]


def _text(
    errors: list[FieldError], field: str, value: str, limit: int, required: bool = True
) -> str:
    text = clean_text(value, limit)
    if required and not text:
        errors.append(FieldError(field, "required", "This field is required."))
    elif len(text) > limit:
        errors.append(
            FieldError(field, "too_long", "At most %(limit)s characters.", (("limit", str(limit)),))
        )
    return text


def _name(errors: list[FieldError], field: str, value: str) -> str:
    text = _text(errors, field, value, MAX_NAME)
    if text and len(text) <= MAX_NAME and not _NAME.fullmatch(text):
        errors.append(
            FieldError(
                field,
                "name_chars",
                "Write the name as on the KTP: letters, spaces and . , ' - only.",
            )
        )
    return text


def _choice(errors: list[FieldError], field: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        errors.append(FieldError(field, "choice", "Choose one of the options."))
    return value


def _dependants(errors: list[FieldError], value: int | str) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_DEPENDANTS:
        errors.append(
            FieldError(
                "dependants",
                "dependants",
                "Enter a whole number from 0 to %(max)s.",
                (("max", str(MAX_DEPENDANTS)),),
            )
        )
        return 0
    return int(text)


def _regency(errors: list[FieldError], code: str) -> str:
    if code not in {r.code for r in region.regencies()}:
        errors.append(
            FieldError(
                "domicile_regency_code",
                "unknown_regency",
                "Choose your kabupaten/kota from the list.",
            )
        )
    return code


def check_profile(data: ProfileInput) -> tuple[dict[str, object], list[FieldError]]:
    """The cleaned values and every problem found (the values are usable only without errors)."""
    e: list[FieldError] = []
    aid = tuple(sorted(set(data.other_aid)))
    if not set(aid) <= set(AID):
        e.append(FieldError("other_aid", "choice", "Choose one of the options."))
    values: dict[str, object] = {
        "full_name": _name(e, "full_name", data.full_name),
        "mother_name": _name(e, "mother_name", data.mother_name),
        "address": _text(e, "address", data.address, MAX_ADDRESS),
        "domicile_regency_code": _regency(e, data.domicile_regency_code),
        "village_type": _choice(e, "village_type", data.village_type, VILLAGE_TYPES),
        "education": _choice(e, "education", data.education, EDUCATION),
        "marital_status": _choice(e, "marital_status", data.marital_status, MARITAL),
        "dependants": _dependants(e, data.dependants),
        "employment_status": _choice(e, "employment_status", data.employment_status, EMPLOYMENT),
        "occupation": _choice(e, "occupation", data.occupation, OCCUPATIONS),
        "disability": bool(data.disability),
        "migrant_status": _choice(e, "migrant_status", data.migrant_status, MIGRANT),
        "other_aid": ",".join(aid),
        "desired_training": _text(
            e, "desired_training", data.desired_training, MAX_TRAINING, required=False
        ),
    }
    return values, e


def _registry_name_errors(
    person: Person, name: str, mother: str, now: dt.datetime
) -> list[FieldError]:
    """Compare the names with the civil registry when it answers (no answer: not compared)."""
    from prakerja.registration.registry import registry_client

    if (
        person.registry_status != "matched"
        or person.nik_enc is None
        or person.kk_enc is None
        or person.birth_date is None
    ):
        return []
    result = registry_client().verify(
        vault.decrypt_text(person.nik_enc),
        vault.decrypt_text(person.kk_enc),
        person.birth_date,
        name,
        mother,
    )
    if result.status != "mismatch":
        return []
    fields = dict(result.fields)
    errors = [
        FieldError(field, "registry_mismatch", "This does not match the civil registry (Dukcapil).")
        for key, field in (("name", "full_name"), ("mother_name", "mother_name"))
        if fields.get(key) == "mismatch"
    ]
    if not errors:  # the registry now disagrees on something else: refuse, never guess
        errors.append(
            FieldError(
                "full_name",
                "registry_mismatch",
                "The civil registry no longer confirms your identity. Please "
                "contact the help desk.",
            )
        )
    return errors


def save_profile(
    session: Session, *, account_id: int, data: ProfileInput, now: dt.datetime
) -> Person:
    """Check and store the profile (mother's name encrypted) and complete the step; names must
    match the civil registry when it answers. Any problem: FormInvalid, nothing written."""
    person = person_for_account(session, account_id, now=now)
    require_step(session, person, "profile")
    values, errors = check_profile(data)
    if not errors:
        errors = _registry_name_errors(
            person, str(values["full_name"]), str(values["mother_name"]), now
        )
    if errors:
        raise FormInvalid(errors)
    mother = str(values.pop("mother_name"))
    for key, value in values.items():
        setattr(person, key, value)
    person.mother_name_enc = vault.encrypt_text(mother)
    person.updated_at = now
    session.flush()
    mark_step(session, person_id=person.id, step="profile", now=now)
    return person


def profile_values(person: Person | None) -> dict[str, object]:
    """The stored profile as form values (mother's name decrypted for its owner's form)."""
    if person is None or person.profile_done_at is None:
        return {}
    mother = vault.decrypt_text(person.mother_name_enc) if person.mother_name_enc else ""
    return {
        "full_name": person.full_name or "",
        "mother_name": mother,
        "address": person.address or "",
        "domicile_regency_code": person.domicile_regency_code or "",
        "village_type": person.village_type or "",
        "education": person.education or "",
        "marital_status": person.marital_status or "",
        "dependants": "" if person.dependants is None else str(person.dependants),
        "employment_status": person.employment_status or "",
        "occupation": person.occupation or "",
        "disability": person.disability,
        "migrant_status": person.migrant_status,
        "other_aid": tuple(filter(None, person.other_aid.split(","))),
        "desired_training": person.desired_training or "",
    }
