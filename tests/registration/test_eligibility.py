"""Eligibility rules: every failed rule is reported with a code and a kind Indonesian text."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prakerja.kit import i18n
from prakerja.registration import eligibility, policy
from prakerja.registration.eligibility import ApplicantFacts, evaluate
from prakerja.registration.policy import PRESETS

NEW, OLD = PRESETS["2023+"], PRESETS["2020-22"]
TODAY = dt.date(2025, 6, 15)
CLEAN = ApplicantFacts(
    birth_date=dt.date(1995, 3, 1), occupation="farmer", registry_status="matched"
)


def _with(**changes) -> ApplicantFacts:
    return ApplicantFacts(
        **(
            {
                "birth_date": CLEAN.birth_date,
                "occupation": CLEAN.occupation,
                "registry_status": "matched",
            }
            | changes
        )
    )


def test_a_clean_applicant_is_eligible_under_both_presets():
    for rules in (NEW, OLD):
        result = evaluate(CLEAN, rules, TODAY)
        assert result.eligible
        assert result.failures == ()


def test_eighteenth_birthday_is_the_first_eligible_day():
    born = dt.date(2007, 6, 15)
    assert evaluate(_with(birth_date=born), NEW, TODAY - dt.timedelta(days=1)).codes == (
        "age_below_min",
    )
    assert evaluate(_with(birth_date=born), NEW, TODAY).eligible


def test_a_29_february_birthday_turns_18_on_1_march():
    born = dt.date(2008, 2, 29)
    assert evaluate(_with(birth_date=born), NEW, dt.date(2026, 2, 28)).codes == ("age_below_min",)
    assert evaluate(_with(birth_date=born), NEW, dt.date(2026, 3, 1)).eligible


def test_64_is_eligible_and_65_is_not_when_there_is_a_maximum():
    born = dt.date(1960, 6, 15)
    assert evaluate(_with(birth_date=born), NEW, dt.date(2025, 6, 14)).eligible  # 64
    result = evaluate(_with(birth_date=born), NEW, TODAY)  # 65th birthday
    assert result.codes == ("age_above_max",)
    assert dict(result.failures[0].params) == {"age_min": 18, "age_max": 64}
    assert evaluate(_with(birth_date=born), OLD, TODAY).eligible  # no maximum before wave 18


@pytest.mark.parametrize("occupation", policy.OCCUPATIONS)
def test_each_excluded_occupation_fails(occupation):
    assert evaluate(_with(occupation=occupation), NEW, TODAY).codes == ("excluded_occupation",)


def test_an_occupation_the_policy_no_longer_excludes_passes():
    rules = policy.with_changes(NEW, excluded_occupations=frozenset({"military"}))
    assert evaluate(_with(occupation="village_official"), rules, TODAY).eligible


@pytest.mark.parametrize("aid", ["dtks", "bsu", "bpum"])
def test_other_aid_excludes_only_in_the_semi_bansos_scheme(aid):
    facts = _with(other_aid=frozenset({aid}))
    assert evaluate(facts, OLD, TODAY).codes == ("other_aid_recipient",)
    assert evaluate(facts, NEW, TODAY).eligible


def test_being_on_the_other_aid_list_counts_as_other_aid():
    facts = _with(lists=frozenset({"other_aid"}))
    assert evaluate(facts, OLD, TODAY).codes == ("other_aid_recipient",)


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        (_with(lists=frozenset({"exclusion"})), "on_exclusion_list"),
        (_with(lists=frozenset({"blacklist"})), "blacklisted"),
        (_with(lists=frozenset({"prior_recipient"})), "prior_recipient"),
        (_with(prior_benefit=True), "prior_recipient"),
        (_with(lists=frozenset({"student"})), "student"),
        (_with(is_student=True), "student"),
        (_with(kk_recipients=2), "kk_cap_reached"),
        (_with(registry_status="mismatch"), "registry_not_matched"),
        (_with(registry_status="pending"), "registry_not_matched"),
        (_with(registration_complete=False), "registration_incomplete"),
    ],
)
def test_each_exclusion_has_its_own_code(facts, code):
    assert evaluate(facts, NEW, TODAY).codes == (code,)


def test_the_priority_list_never_excludes_and_one_kk_recipient_is_allowed():
    assert evaluate(_with(lists=frozenset({"priority"}), kk_recipients=1), NEW, TODAY).eligible


def test_students_may_join_when_the_policy_allows():
    rules = policy.with_changes(NEW, exclude_students=False)
    assert evaluate(_with(is_student=True), rules, TODAY).eligible


def test_every_failed_rule_is_reported_not_just_the_first():
    facts = ApplicantFacts(
        birth_date=dt.date(2010, 1, 1),
        occupation="police",
        other_aid=frozenset({"bsu"}),
        lists=frozenset(eligibility.LIST_KINDS),
        registry_status="mismatch",
        kk_recipients=5,
        is_student=True,
        registration_complete=False,
    )
    assert set(evaluate(facts, OLD, TODAY).codes) == set(eligibility.REASON_CODES) - {
        "age_above_max"
    }  # too young and too old cannot both hold


def test_the_kk_message_names_the_cap():
    failure = evaluate(_with(kk_recipients=3), NEW, TODAY).failures[0]
    assert "2" in failure.explain("id")
    assert "KK" in failure.explain("id")
    assert failure.explain("en").startswith("2 people")


facts_strategy = st.builds(
    ApplicantFacts,
    birth_date=st.one_of(st.none(), st.dates(dt.date(1930, 1, 1), dt.date(2020, 1, 1))),
    occupation=st.one_of(st.none(), st.sampled_from((*policy.OCCUPATIONS, "farmer", "teacher"))),
    other_aid=st.frozensets(st.sampled_from(policy.AID_PROGRAMMES)),
    lists=st.frozensets(st.sampled_from(eligibility.LIST_KINDS)),
    registry_status=st.sampled_from(("none", "matched", "mismatch", "pending", "unavailable")),
    prior_benefit=st.booleans(),
    kk_recipients=st.integers(0, 6),
    is_student=st.booleans(),
    registration_complete=st.booleans(),
)


@given(
    facts=facts_strategy,
    preset=st.sampled_from(list(PRESETS)),
    today=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
)
def test_every_failure_has_a_code_and_an_indonesian_explanation(facts, preset, today):
    result = evaluate(facts, PRESETS[preset], today)
    assert result.eligible == (not result.failures)
    assert len(set(result.codes)) == len(result.codes)
    for failure in result.failures:
        assert failure.code in eligibility.REASON_CODES
        text = failure.explain("id")
        assert text.strip()
        assert text != failure.explain("en")
        assert "%(" not in text


def test_every_message_is_translated_into_indonesian():
    catalogue = i18n.translations("id")
    for code, message in eligibility.MESSAGES.items():
        assert catalogue.gettext(message) != message, code
