"""Helpers for the registration pages: form parsing, error lists, choice labels."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from prakerja.kit import i18n
from prakerja.kit.errors import DomainError
from prakerja.region import service as region
from prakerja.registration import service_profile as sp
from prakerja.registration.model import Person
from prakerja.registration.service import FormInvalid
from prakerja.settings import get_settings

# English msgids for each choice code (translated in the templates).
LABELS = {
    "village_type": {"rural": "Village (rural)", "urban": "Town or city (urban)"},
    "education": {
        "none": "No schooling",
        "sd": "Primary school (SD)",
        "smp": "Junior high school (SMP)",
        "sma": "Senior high school (SMA)",
        "smk": "Vocational high school (SMK)",
        "diploma": "Diploma (D1-D4)",
        "s1": "Bachelor's degree (S1)",
        "s2": "Master's degree (S2)",
        "s3": "Doctorate (S3)",
    },
    "marital_status": {
        "single": "Not married",
        "married": "Married",
        "divorced": "Divorced",
        "widowed": "Widowed",
    },
    "employment_status": {
        "unemployed": "Looking for work",
        "laid_off": "Laid off",
        "employed": "Employed",
        "self_employed": "Self-employed or business",
        "student": "Still in school or college",
    },
    "occupation": {
        "none": "No occupation",
        "private_employee": "Private-sector employee",
        "entrepreneur": "Entrepreneur",
        "farmer_fisher": "Farmer or fisher",
        "labourer": "Labourer",
        "civil_servant": "Civil servant (ASN)",
        "military": "Armed forces (TNI)",
        "police": "Police (Polri)",
        "state_official": "State official",
        "village_official": "Village head or village official",
        "regional_parliament": "Regional parliament member (DPRD)",
        "soe_board": "Board of a state- or region-owned company (BUMN/BUMD)",
        "other": "Other",
    },
    "migrant_status": {
        "none": "Not a migrant worker",
        "prospective": "Prospective migrant worker (calon PMI)",
        "former": "Former migrant worker (purna PMI)",
    },
    "other_aid": {
        "dtks": "Social welfare data (DTKS) aid",
        "bsu": "Wage subsidy (BSU)",
        "bpum": "Micro-business aid (BPUM)",
    },
}
REGISTRY_FIELDS = {
    "nik": "NIK",
    "kk": "Family card (KK) number",
    "birth_date": "Date of birth",
    "name": "Full name",
    "mother_name": "Mother's maiden name",
}
REGISTRY_ANSWERS = {
    "mismatch": "does not match the civil registry",
    "not_found": "not found in the civil registry",
}
FACE_REASONS = {
    "no_blink": "We could not see you blink. Blink while the photo is taken and tick the box.",
    "low_quality": "The photo is not sharp or bright enough. Find better light and try again.",
    "face_not_matching": "The face does not match the photo in the civil registry.",
}
_FIELDS_TEXT = (
    "full_name",
    "mother_name",
    "address",
    "domicile_regency_code",
    "village_type",
    "education",
    "marital_status",
    "dependants",
    "employment_status",
    "occupation",
    "migrant_status",
    "desired_training",
)


def errors_of(exc: DomainError, language: str, field: str = "_form") -> dict[str, list[str]]:
    """Field -> translated messages; other refusals go under `field` (default: the form)."""
    if isinstance(exc, FormInvalid) and exc.errors:
        out: dict[str, list[str]] = {}
        for e in exc.errors:
            out.setdefault(e.field, []).append(e.text(language))
        return out
    title = i18n.gettext(language, exc.title)
    detail = i18n.gettext(language, exc.detail) if exc.detail != exc.title else ""
    return {field: [title + (f" {detail}" if detail and detail != title else "")]}


def parse_date(text: str) -> dt.date | None:
    """A date typed as YYYY-MM-DD (the date input) or DD-MM-YYYY / DD/MM/YYYY; else None."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
    return None


def profile_input(form: FormData) -> sp.ProfileInput:
    """The profile form's fields (oversized values are cut a little past their limit)."""
    get = {k: str(form.get(k, ""))[:1000] for k in _FIELDS_TEXT}
    aid = tuple(str(v)[:10] for v in form.getlist("other_aid"))[:5]
    get["migrant_status"] = get["migrant_status"] or "none"
    return sp.ProfileInput(**get, disability=form.get("disability") == "yes", other_aid=aid)


def profile_form_values(data: sp.ProfileInput) -> dict[str, Any]:
    """What to put back into the form after a refusal."""
    return {
        **{k: str(getattr(data, k)) for k in _FIELDS_TEXT},
        "disability": data.disability,
        "other_aid": data.other_aid,
    }


def profile_options() -> dict[str, Any]:
    """Choice lists for the profile form."""
    return {"labels": LABELS, "regencies": [(r.code, r.name) for r in region.regencies()]}


def max_mb() -> str:
    return f"{get_settings().upload_max_bytes / 1_048_576:g}"


def eligibility(
    session: Session, person: Person | None, now: dt.datetime, language: str
) -> dict[str, Any] | None:
    """{'eligible': bool, 'reasons': [plain explanation per failed rule]}, or None when the
    eligibility module is not installed."""
    if person is None:
        return None
    try:
        from prakerja.registration import service_eligibility
    except ImportError:  # the eligibility module is optional for these pages
        return None
    result = service_eligibility.check(session, person, now)
    return {"eligible": result.eligible, "reasons": [f.explain(language) for f in result.failures]}


def registry_reasons(reasons: list[tuple[str, str]], language: str) -> list[str]:
    """'Family card (KK) number: does not match the civil registry', translated."""

    def t(text: str) -> str:
        return i18n.gettext(language, text)

    return [f"{t(REGISTRY_FIELDS.get(f, f))}: {t(REGISTRY_ANSWERS.get(a, a))}" for f, a in reasons]
