"""Policy rules: presets, validation, JSON round-trip, form parsing, field-level diff."""

import pytest

from prakerja.registration import policy
from prakerja.registration.policy import PRESETS, PolicyRules


def test_presets_carry_the_programme_money_and_deadlines():
    old, new = PRESETS["2020-22"], PRESETS["2023+"]
    assert (old.training_balance, old.incentive_amount, old.incentive_count) == (
        1_000_000,
        600_000,
        4,
    )
    assert (new.training_balance, new.incentive_amount, new.incentive_count) == (
        3_500_000,
        600_000,
        1,
    )
    assert (old.survey_count, new.survey_count) == (3, 2)
    assert (old.first_purchase_days, new.first_purchase_days) == (30, 15)
    assert (old.spend_rest_days_after_first, new.spend_rest_days_after_first) == (None, 15)
    assert old.exclude_other_aid
    assert not new.exclude_other_aid
    assert old.age_max is None
    assert new.age_max == 64
    assert new.kk_cap == 2
    assert new.exclude_students
    assert new.excluded_occupations == frozenset(policy.OCCUPATIONS)


@pytest.mark.parametrize("name", list(PRESETS))
def test_json_round_trip_is_exact(name):
    rules = PRESETS[name]
    assert policy.rules_from_json(policy.rules_to_json(rules)) == rules


def test_unknown_field_in_stored_json_is_refused():
    data = policy.rules_to_json(PRESETS["2023+"]) | {"surprise": 1}
    with pytest.raises(ValueError, match="surprise"):
        policy.rules_from_json(data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"age_min": 10}, "age_min"),
        ({"age_max": 17}, "age_max"),
        ({"training_balance": -1}, "training_balance"),
        ({"kk_cap": 0}, "kk_cap"),
        ({"scheme": "bansos"}, "scheme"),
        ({"excluded_occupations": frozenset({"astronaut"})}, "excluded_occupations"),
        ({"purchase_reminder_days_before": 15}, "purchase_reminder_days_before"),
        ({"incentive_amount": 600_000.0}, "incentive_amount"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        policy.with_changes(PRESETS["2023+"], **changes)


def test_diff_of_equal_rules_is_empty_and_lists_each_changed_field():
    new = PRESETS["2023+"]
    assert policy.diff_rules(new, new) == ()
    changed = policy.with_changes(new, age_max=None, kk_cap=3)
    assert [(c.field, c.before, c.after) for c in policy.diff_rules(new, changed)] == [
        ("age_max", 64, None),
        ("kk_cap", 2, 3),
    ]


def test_diff_between_presets_names_the_scheme_change():
    fields = {c.field for c in policy.diff_rules(PRESETS["2020-22"], PRESETS["2023+"])}
    assert {"scheme", "training_balance", "incentive_count", "exclude_other_aid"} <= fields
    assert "kk_cap" not in fields


def _form(rules: PolicyRules) -> dict:
    data = policy.rules_to_json(rules)
    form = {k: ("" if v is None else str(v)) for k, v in data.items()}
    form["exclude_other_aid"] = "1" if rules.exclude_other_aid else ""
    form["exclude_students"] = "1" if rules.exclude_students else ""
    form["excluded_occupations"] = data["excluded_occupations"]
    form["other_aid_programmes"] = data["other_aid_programmes"]
    return form


@pytest.mark.parametrize("name", list(PRESETS))
def test_form_round_trip_gives_the_same_rules(name):
    rules, errors = policy.rules_from_form(_form(PRESETS[name]))
    assert errors == {}
    assert rules == PRESETS[name]


def test_form_accepts_indonesian_thousand_separators():
    form = _form(PRESETS["2023+"]) | {"training_balance": "4.000.000"}
    rules, _ = policy.rules_from_form(form)
    assert rules is not None
    assert rules.training_balance == 4_000_000


def test_form_reports_every_bad_field_and_gives_no_rules():
    form = _form(PRESETS["2023+"]) | {"age_min": "abc", "kk_cap": "-2"}
    rules, errors = policy.rules_from_form(form)
    assert rules is None
    assert set(errors) == {"age_min", "kk_cap"}
    form = _form(PRESETS["2023+"]) | {"age_max": "16"}
    rules, errors = policy.rules_from_form(form)
    assert rules is None
    assert set(errors) == {"age_max"}


def test_every_field_has_a_label():
    assert set(policy.FIELD_LABELS) == set(policy.FIELD_NAMES)
