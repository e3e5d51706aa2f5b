"""Programme policy as data: the rules one wave runs under, two presets and a field-level diff.

Pure: no session, no clock. Rules are stored as JSON in `policy_version.rules`; `rules_from_json`
and `rules_to_json` round-trip exactly, and `rules_from_form` parses an operator's edit with one
error per bad field (never a partial result).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

OCCUPATIONS = (
    "civil_servant",
    "military",
    "police",
    "state_official",
    "regional_parliament",
    "village_official",
    "soe_board",
)
AID_PROGRAMMES = ("dtks", "bsu", "bpum")
SCHEMES = ("semi_bansos", "normal")


@dataclass(frozen=True)
class PolicyRules:
    """Everything a wave's eligibility, money and deadlines depend on. Amounts: whole rupiah."""

    scheme: str
    age_min: int = 18
    age_max: int | None = 64  # None = no upper age (before wave 18)
    excluded_occupations: frozenset[str] = frozenset(OCCUPATIONS)
    exclude_other_aid: bool = False
    other_aid_programmes: frozenset[str] = frozenset(AID_PROGRAMMES)
    kk_cap: int = 2
    exclude_students: bool = True
    training_balance: int = 3_500_000
    incentive_amount: int = 600_000
    incentive_count: int = 1
    survey_incentive_amount: int = 50_000
    survey_count: int = 2
    first_purchase_days: int = 15
    purchase_reminder_days_before: int = 7
    spend_rest_days_after_first: int | None = 15
    test_minutes: int = 25
    test_questions: int = 18
    pass_mark_percent: int = 60
    retry_after_days: int = 30
    test_max_attempts: int = 3
    max_non_selections_before_review: int = 3

    def __post_init__(self) -> None:
        problems = check_rules(self)
        if problems:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in problems.items()))


_SET_CHOICES = {"excluded_occupations": OCCUPATIONS, "other_aid_programmes": AID_PROGRAMMES}
_OPTIONAL_INTS = ("age_max", "spend_rest_days_after_first")
_BOOLS = ("exclude_other_aid", "exclude_students")
# Inclusive bounds for every whole-number field; they keep typos (an extra zero) out.
BOUNDS: dict[str, tuple[int, int]] = {
    "age_min": (15, 30),
    "age_max": (30, 80),
    "kk_cap": (1, 10),
    "training_balance": (0, 20_000_000),
    "incentive_amount": (0, 5_000_000),
    "incentive_count": (0, 12),
    "survey_incentive_amount": (0, 1_000_000),
    "survey_count": (0, 6),
    "first_purchase_days": (1, 90),
    "purchase_reminder_days_before": (0, 30),
    "spend_rest_days_after_first": (1, 90),
    "test_minutes": (5, 180),
    "test_questions": (1, 200),
    "pass_mark_percent": (0, 100),
    "retry_after_days": (0, 365),
    "test_max_attempts": (1, 10),
    "max_non_selections_before_review": (1, 20),
}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(PolicyRules))


def _int_problem(name: str, value: object) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be a whole number"
    low, high = BOUNDS[name]
    if not low <= value <= high:
        return f"must be between {low} and {high}"
    return None


def check_rules(rules: PolicyRules) -> dict[str, str]:
    """Field name -> problem, for every field that breaks its bounds or a cross-field rule."""
    problems: dict[str, str] = {}
    if rules.scheme not in SCHEMES:
        problems["scheme"] = f"must be one of {', '.join(SCHEMES)}"
    for name in BOUNDS:
        value = getattr(rules, name)
        if value is None and name in _OPTIONAL_INTS:
            continue
        problem = _int_problem(name, value)
        if problem:
            problems[name] = problem
    for name, choices in _SET_CHOICES.items():
        unknown = set(getattr(rules, name)) - set(choices)
        if unknown:
            problems[name] = f"unknown values: {', '.join(sorted(map(str, unknown)))}"
    if (
        "age_max" not in problems
        and rules.age_max is not None
        and "age_min" not in problems
        and rules.age_max < rules.age_min
    ):
        problems["age_max"] = "must not be below age_min"
    if (
        "purchase_reminder_days_before" not in problems
        and "first_purchase_days" not in problems
        and rules.purchase_reminder_days_before >= rules.first_purchase_days
    ):
        problems["purchase_reminder_days_before"] = "must be less than first_purchase_days"
    return problems


def rules_to_json(rules: PolicyRules) -> dict[str, Any]:
    """A JSON-ready dict; sets become sorted lists so equal rules give equal JSON."""
    out: dict[str, Any] = {}
    for name in FIELD_NAMES:
        value = getattr(rules, name)
        out[name] = sorted(value) if isinstance(value, frozenset) else value
    return out


def rules_from_json(data: Mapping[str, Any]) -> PolicyRules:
    """Rules from stored JSON; fields missing from older versions take today's defaults."""
    unknown = set(data) - set(FIELD_NAMES)
    if unknown:
        raise ValueError(f"unknown policy fields: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: frozenset(v) if k in _SET_CHOICES else v for k, v in data.items()}
    return PolicyRules(**values)


def _parse_field(name: str, form: Mapping[str, Any]) -> tuple[Any, str | None]:
    if name in _SET_CHOICES:
        raw = form.get(name) or []
        chosen = [raw] if isinstance(raw, str) else list(raw)
        return frozenset(v for v in chosen if v), None
    if name in _BOOLS:
        return str(form.get(name, "")).lower() in ("1", "on", "true", "yes"), None
    if name == "scheme":
        return str(form.get(name, "")).strip(), None
    # Operators type amounts the Indonesian way ("3.500.000"); separators are dropped.
    text = str(form.get(name, "") or "").strip().replace(".", "").replace(",", "")
    if not text and name in _OPTIONAL_INTS:
        return None, None
    if not text.isascii() or not text.isdigit():
        return None, "must be a whole number"
    return int(text), None


def rules_from_form(form: Mapping[str, Any]) -> tuple[PolicyRules | None, dict[str, str]]:
    """Parse an edit form (set fields as lists of checked values); rules, or every field error."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in FIELD_NAMES:
        value, error = _parse_field(name, form)
        if error:
            errors[name] = error
        values[name] = value
    if errors:
        return None, errors
    try:
        return PolicyRules(**values), {}
    except ValueError:
        # __post_init__ refused: report field by field on an unchecked copy.
        draft = _unchecked(values)
        return None, check_rules(draft)


def _unchecked(values: Mapping[str, Any]) -> PolicyRules:
    draft = object.__new__(PolicyRules)
    for name, value in values.items():
        object.__setattr__(draft, name, value)
    return draft


@dataclass(frozen=True)
class FieldChange:
    """One field whose value differs between two versions of the rules."""

    field: str
    before: Any
    after: Any


def diff_rules(a: PolicyRules, b: PolicyRules) -> tuple[FieldChange, ...]:
    """Every field that differs from `a` to `b`, in declaration order; empty when equal."""
    before, after = rules_to_json(a), rules_to_json(b)
    return tuple(
        FieldChange(name, before[name], after[name])
        for name in FIELD_NAMES
        if before[name] != after[name]
    )


def with_changes(rules: PolicyRules, **changes: Any) -> PolicyRules:
    """A copy with some fields replaced (validated like any other rules)."""
    return dataclasses.replace(rules, **changes)


PRESETS: dict[str, PolicyRules] = {
    # The 2020-22 "semi-bansos" scheme as it opened in 2020 (no upper age until wave 18; copy
    # it and set age_max = 64 for later waves).
    "2020-22": PolicyRules(
        scheme="semi_bansos",
        age_max=None,
        exclude_other_aid=True,
        training_balance=1_000_000,
        incentive_amount=600_000,
        incentive_count=4,
        survey_incentive_amount=50_000,
        survey_count=3,
        first_purchase_days=30,
        spend_rest_days_after_first=None,
        test_minutes=25,
        test_questions=18,
    ),
    "2023+": PolicyRules(
        scheme="normal",
        age_max=64,
        exclude_other_aid=False,
        training_balance=3_500_000,
        incentive_amount=600_000,
        incentive_count=1,
        survey_incentive_amount=50_000,
        survey_count=2,
        first_purchase_days=15,
        spend_rest_days_after_first=15,
        test_minutes=40,
        test_questions=30,
    ),
}

# English msgids for operator forms and the public rules page (translated in eligibility.po).
FIELD_LABELS: dict[str, str] = {
    "scheme": "Scheme",
    "age_min": "Minimum age (years)",
    "age_max": "Maximum age (years; empty = no maximum)",
    "excluded_occupations": "Occupations that cannot join",
    "exclude_other_aid": "Exclude recipients of other social aid",
    "other_aid_programmes": "Social aid programmes that count",
    "kk_cap": "Most recipients per family card (KK)",
    "exclude_students": "Exclude people in formal education",
    "training_balance": "Training balance (Rp)",
    "incentive_amount": "Post-training incentive per payment (Rp)",
    "incentive_count": "Number of incentive payments",
    "survey_incentive_amount": "Survey incentive per survey (Rp)",
    "survey_count": "Number of paid surveys",
    "first_purchase_days": "Days to buy the first course",
    "purchase_reminder_days_before": "Reminder this many days before the purchase deadline",
    "spend_rest_days_after_first": "Days to spend the rest after the first course "
    "(empty = no limit)",
    "test_minutes": "Ability test length (minutes)",
    "test_questions": "Ability test questions",
    "pass_mark_percent": "Ability test pass mark (%)",
    "retry_after_days": "Days before the test can be retried",
    "test_max_attempts": "Ability test attempts in all",
    "max_non_selections_before_review": "Non-selections before a manual review can be asked",
}
CHOICE_LABELS: dict[str, str] = {
    "semi_bansos": "Semi social aid (2020-22)",
    "normal": "Normal (2023+)",
    "civil_servant": "Civil servant (ASN)",
    "military": "Military (TNI)",
    "police": "Police (Polri)",
    "state_official": "State official",
    "regional_parliament": "Regional parliament member",
    "village_official": "Village head or official",
    "soe_board": "Board of a state-owned company",
    "dtks": "DTKS",
    "bsu": "BSU (wage subsidy)",
    "bpum": "BPUM (micro business aid)",
}
