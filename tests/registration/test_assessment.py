"""Pure rules of the basic-ability test: bank, selection, scoring, deadline, retry, statement."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prakerja.kit.errors import Invalid
from prakerja.registration import assessment as a
from prakerja.registration.policy import AID_PROGRAMMES, OCCUPATIONS

BANK = a.load_bank()
KEY = a.bank_index(BANK)
START = dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)  # 09:00 in Jakarta
POLICY = a.AssessmentPolicy(minutes=25, questions=18, pass_mark_percent=60, retry_after_days=30)


def test_bank_has_sixty_bilingual_questions_balanced_over_kinds():
    assert len(BANK) >= 60
    kinds = Counter(q.kind for q in BANK)
    assert set(kinds) == set(a.KINDS)
    assert min(kinds.values()) >= 18  # three disjoint attempts of 6 per kind
    for q in BANK:
        assert q.prompt_id
        assert q.prompt_en
        assert q.prompt_id != q.prompt_en
        assert len(q.options_id) == len(q.options_en) == 4
        assert 0 <= q.answer < 4


@pytest.mark.parametrize(
    "broken",
    [
        {"answer": 4},
        {"kind": "music"},
        {"options": [{"id": "a", "en": "a"}] * 4},
        {"options": [{"id": "a", "en": "a"}, {"id": "b", "en": "b"}]},
    ],
)
def test_a_broken_bank_entry_is_refused(broken):
    item = {
        "id": "X1",
        "kind": "verbal",
        "prompt_id": "p",
        "prompt_en": "p",
        "options": [{"id": c, "en": c} for c in "abcd"],
        "answer": 0,
    } | broken
    with pytest.raises(ValueError, match="X1"):
        a.parse_bank({"questions": [item]})


def test_duplicate_question_ids_are_refused():
    item = {
        "id": "X1",
        "kind": "verbal",
        "prompt_id": "p",
        "prompt_en": "p",
        "options": [{"id": c, "en": c} for c in "abcd"],
        "answer": 0,
    }
    with pytest.raises(ValueError, match="unique"):
        a.parse_bank({"questions": [item, item]})


@given(seed=st.integers(min_value=0, max_value=2**62), count=st.integers(min_value=1, max_value=30))
def test_selection_is_deterministic_distinct_and_balanced(seed, count):
    picked = a.select_questions(BANK, seed=seed, count=count)
    assert picked == a.select_questions(BANK, seed=seed, count=count)
    assert len(picked) == len(set(picked)) == count
    per_kind = Counter(KEY[i].kind for i in picked)
    assert max(per_kind.values()) - min(per_kind.get(k, 0) for k in a.KINDS) <= 1


def test_eighteen_questions_are_six_of_each_kind():
    picked = a.select_questions(BANK, seed=7, count=18)
    assert Counter(KEY[i].kind for i in picked) == {"verbal": 6, "numerical": 6, "logical": 6}


@given(
    seed1=st.integers(min_value=0, max_value=2**62), seed2=st.integers(min_value=0, max_value=2**62)
)
def test_a_retry_gets_fresh_questions_while_the_bank_allows(seed1, seed2):
    first = a.select_questions(BANK, seed=seed1, count=18)
    second = a.select_questions(BANK, seed=seed2, count=18, seen=frozenset(first))
    assert not set(first) & set(second)
    third = a.select_questions(BANK, seed=seed1 + 1, count=18, seen=frozenset(first + second))
    assert not set(third) & (set(first) | set(second))


def test_when_the_bank_runs_short_seen_questions_fill_the_gap():
    everything = frozenset(q.id for q in BANK)
    picked = a.select_questions(BANK, seed=3, count=18, seen=everything)
    assert len(set(picked)) == 18


def test_asking_for_more_questions_than_the_bank_holds_is_refused():
    with pytest.raises(ValueError, match="bank holds"):
        a.select_questions(BANK, seed=1, count=len(BANK) + 1)


@given(
    seed=st.integers(min_value=0, max_value=2**40),
    choices=st.lists(st.integers(min_value=0, max_value=3), min_size=18, max_size=18),
    answered=st.integers(min_value=0, max_value=18),
)
def test_score_is_between_zero_and_the_number_of_questions(seed, choices, answered):
    ids = a.select_questions(BANK, seed=seed, count=18)
    answers = dict(list(zip(ids, choices, strict=True))[:answered])
    points = a.score(ids, answers, KEY)
    assert 0 <= points <= answered <= 18
    assert points == sum(1 for i, c in answers.items() if KEY[i].answer == c)


def test_all_right_answers_score_full_marks():
    ids = a.select_questions(BANK, seed=11, count=18)
    assert a.score(ids, {i: KEY[i].answer for i in ids}, KEY) == 18


def test_answers_to_foreign_questions_or_bad_options_are_refused():
    ids = a.select_questions(BANK, seed=11, count=18)
    outside = next(q.id for q in BANK if q.id not in ids)
    with pytest.raises(Invalid):
        a.check_answers(ids, {outside: 0})
    for bad in (4, -1, True, "1"):
        with pytest.raises(Invalid):
            a.check_answers(ids, {ids[0]: bad})
    assert a.check_answers(ids, {ids[0]: 3}) == {ids[0]: 3}


@pytest.mark.parametrize(
    ("points", "total", "mark", "expected"),
    [
        (11, 18, 60, True),
        (10, 18, 60, False),
        (18, 18, 100, True),
        (0, 18, 0, True),
        (9, 15, 60, True),
        (8, 15, 60, False),
    ],
)
def test_pass_mark_is_compared_exactly(points, total, mark, expected):
    assert a.has_passed(points, total, mark) is expected


@given(
    points=st.integers(min_value=0, max_value=200), total=st.integers(min_value=1, max_value=200)
)
def test_percent_is_a_whole_number_between_zero_and_a_hundred(points, total):
    points = min(points, total)
    assert 0 <= a.percent(points, total) <= 100
    assert a.percent(points, total) * total <= points * 100


def test_deadline_boundary_at_25_00_and_25_31():
    deadline = a.deadline(START, 25)
    assert deadline == START + dt.timedelta(minutes=25)
    assert not a.is_late(deadline, START + dt.timedelta(minutes=25))
    assert not a.is_late(deadline, START + dt.timedelta(minutes=25, seconds=30))
    assert a.is_late(deadline, START + dt.timedelta(minutes=25, seconds=30, microseconds=1))
    assert a.is_late(deadline, START + dt.timedelta(minutes=25, seconds=31))


def test_retry_opens_at_jakarta_midnight_after_the_waiting_days():
    failed = dt.datetime(2024, 3, 10, 18, 0, tzinfo=dt.UTC)  # 11 March 01:00 in Jakarta
    opens = a.retry_opens_at(failed, 30)
    assert opens == dt.datetime(2024, 4, 9, 17, 0, tzinfo=dt.UTC)  # 10 April 00:00 WIB


def _past(*passed, at=START):
    return [a.PastAttempt(passed=p, closed_at=at) for p in passed]


def test_first_attempt_is_always_allowed():
    a.check_can_start([], POLICY, START)


def test_a_retry_waits_for_the_retry_date():
    opens = a.retry_opens_at(START, 30)
    with pytest.raises(a.RetryNotYetAllowed) as caught:
        a.check_can_start(_past(False), POLICY, opens - dt.timedelta(seconds=1))
    assert caught.value.extra["retry_allowed_on"] == "2024-04-09"
    assert caught.value.kind == "conflict"
    a.check_can_start(_past(False), POLICY, opens)


def test_no_attempt_after_a_pass_or_past_the_limit():
    later = START + dt.timedelta(days=400)
    with pytest.raises(a.AlreadyPassed):
        a.check_can_start(_past(False, True), POLICY, later)
    with pytest.raises(a.NoAttemptsLeft):
        a.check_can_start(_past(False, False, False), POLICY, later)


def test_policy_reads_the_test_rules_from_the_policy_version():
    from prakerja.registration.policy import PolicyRules

    policy = a.AssessmentPolicy.from_rules(PolicyRules(scheme="normal"))
    assert (policy.minutes, policy.questions, policy.max_attempts) == (25, 18, 3)
    five = PolicyRules(scheme="normal", test_max_attempts=5, retry_after_days=7)
    assert a.AssessmentPolicy.from_rules(five).max_attempts == 5
    with pytest.raises(ValueError, match="test_max_attempts"):
        PolicyRules(scheme="normal", test_max_attempts=0)


GOOD_STATEMENT = {
    "work_status": "not_working",
    "laid_off_recently": "yes",
    "in_formal_education": "no",
    "other_aid": ["bsu"],
    "public_position": "none",
    "commit_to_finish": "yes",
}


def test_a_complete_statement_is_normalised():
    clean, problems = a.parse_statement(GOOD_STATEMENT)
    assert problems == {}
    assert clean == {
        "version": 1,
        "work_status": "not_working",
        "laid_off_recently": True,
        "in_formal_education": False,
        "commit_to_finish": True,
        "other_aid": ["bsu"],
        "public_position": "none",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"work_status": "astronaut"}, "work_status"),
        ({"laid_off_recently": "maybe"}, "laid_off_recently"),
        ({"in_formal_education": None}, "in_formal_education"),
        ({"other_aid": ["bsu", "lottery"]}, "other_aid"),
        ({"public_position": "king"}, "public_position"),
        ({"commit_to_finish": "no"}, "commit_to_finish"),
    ],
)
def test_a_wrong_or_missing_statement_answer_names_its_field(change, field):
    _, problems = a.parse_statement(GOOD_STATEMENT | change)
    assert list(problems) == [field]


def test_statement_choices_follow_the_policy_codes():
    assert set(a.AID_CHOICES) == set(AID_PROGRAMMES)
    assert set(a.POSITION_CHOICES) == {"none", *OCCUPATIONS}
