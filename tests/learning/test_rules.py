"""Pure learning rules."""

from __future__ import annotations

import datetime as dt

import pytest

from prakerja.learning import rules

START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
TICK = dt.timedelta(microseconds=1)


def test_redeem_window_is_one_hour_either_side_of_the_start_inclusive() -> None:
    start, until = rules.redeem_window(START)
    assert (start, until) == (START - dt.timedelta(minutes=60), START + dt.timedelta(minutes=60))
    assert rules.in_window(start, until, start)
    assert rules.in_window(start, until, until)
    assert not rules.in_window(start, until, start - TICK)
    assert not rules.in_window(start, until, until + TICK)


def test_a_closed_window_names_its_limits() -> None:
    start, until = rules.redeem_window(START)
    with pytest.raises(rules.RedeemWindowClosed) as err:
        rules.check_window(start, until, until + TICK)
    assert err.value.extra["valid_until"] == until.isoformat()


@pytest.mark.parametrize(
    ("method", "mode", "ok"),
    [
        ("face", "webinar", True),
        ("face", "self_paced", True),
        ("qr", "offline", True),
        ("qr", "webinar", False),
        ("face", "offline", False),
        ("selfie", "webinar", False),
    ],
)
def test_attendance_method_follows_the_course_mode(method: str, mode: str, ok: bool) -> None:
    if ok:
        rules.check_method(method, mode)
    else:
        with pytest.raises(rules.BadMethod):
            rules.check_method(method, mode)


@pytest.mark.parametrize("bad", [-1, 101, 50.0, True, "80", None])
def test_scores_are_whole_numbers_from_0_to_100(bad: object) -> None:
    with pytest.raises(rules.BadScore):
        rules.check_score(bad)
    assert rules.check_score(0) == 0
    assert rules.check_score(100) == 100


def test_completion_needs_every_session_attended() -> None:
    rules.check_all_attended(0, 0)
    rules.check_all_attended(3, 3)
    with pytest.raises(rules.SessionsNotAttended):
        rules.check_all_attended(3, 2)


def test_progress_counts_attended_sessions_and_is_full_only_when_completed() -> None:
    assert rules.progress_percent(4, 4, completed=False) == 99
    assert rules.progress_percent(4, 1, completed=False) == 25
    assert rules.progress_percent(0, 0, completed=False) == 0
    assert rules.progress_percent(4, 2, completed=True) == 100


@pytest.mark.parametrize(
    ("stars", "text"),
    [
        (0, "cukup bagus sekali"),
        (6, "cukup bagus sekali"),
        (True, "cukup bagus sekali"),
        (4, "   pendek  "),
        (4, "x" * 2001),
    ],
)
def test_a_review_needs_1_to_5_stars_and_real_text(stars: object, text: str) -> None:
    with pytest.raises(rules.BadReview):
        rules.check_review(stars, text)


def test_review_text_is_trimmed() -> None:
    text = "  Sangat   bermanfaat\n sekali "
    assert rules.check_review(5, text) == (5, "Sangat bermanfaat sekali")


def test_names_are_masked_to_initials() -> None:
    assert rules.mask_name("Budi Santoso") == "B*** S******"
    assert rules.mask_name(None) == "—"


def _facts(**kw: object) -> rules.QualityFacts:
    base = {
        "enrolments": 10,
        "completions": 8,
        "reviews": 8,
        "rating_x100": 450,
        "completion_permille": 800,
        "gain_x100": 1500,
        "complaints": 0,
    }
    return rules.QualityFacts(**(base | kw))  # type: ignore[arg-type]


def test_quality_flags_fire_only_with_enough_data() -> None:
    assert rules.quality_flags(_facts()) == []
    assert rules.quality_flags(_facts(rating_x100=300)) == ["low_rating"]
    assert rules.quality_flags(_facts(rating_x100=300, reviews=4)) == []
    assert rules.quality_flags(_facts(completion_permille=400)) == ["low_completion"]
    assert rules.quality_flags(_facts(gain_x100=0)) == ["no_learning_gain"]
    assert rules.quality_flags(_facts(complaints=1)) == ["many_complaints"]
    assert rules.quality_flags(_facts(enrolments=4, completion_permille=0, complaints=3)) == []


def test_provider_score_rewards_rating_completion_and_gain() -> None:
    good = rules.provider_score(480, 900, 2000, 0, 100)
    poor = rules.provider_score(250, 400, 100, 10, 100)
    assert 0 <= poor < good <= 1000
    assert rules.provider_score(500, 1000, 5000, 0, 10) == 1000
