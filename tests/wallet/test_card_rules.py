"""Pure card rules: numbers, deadlines in Jakarta dates, what is due on a day."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prakerja.registration.policy import PRESETS
from prakerja.wallet import cards

D = dt.date


@pytest.mark.parametrize("number", ["79927398713", "4539578763621486", "0000000000000000"])
def test_known_luhn_numbers_pass(number):
    assert cards.luhn_valid(number)


@pytest.mark.parametrize("number", ["79927398710", "4539578763621487", "", "12a4", "٣٣"])
def test_wrong_or_non_digit_numbers_fail(number):
    assert not cards.luhn_valid(number)


def test_a_new_number_has_sixteen_digits_our_prefix_and_a_luhn_digit():
    for _ in range(200):
        number = cards.new_card_number()
        assert cards.valid_card_number(number)


def test_bulk_numbers_are_distinct_and_valid():
    numbers = cards.new_card_numbers(50_000)
    assert len(set(numbers)) == 50_000
    assert all(cards.valid_card_number(n) for n in numbers[:5000])


@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.integers(0, 9))
def test_changing_one_digit_breaks_the_check(payload, replacement):
    number = payload + str(cards.luhn_check_digit(payload))
    assert cards.luhn_valid(number)
    changed = str(replacement) + number[1:]
    assert cards.luhn_valid(changed) == (changed == number)


def test_deadline_counts_from_the_jakarta_issue_day():
    # 2026-05-31 20:00 UTC is already 1 June in Jakarta.
    issued = dt.datetime(2026, 5, 31, 20, 0, tzinfo=dt.UTC)
    d = cards.deadlines_at_issue(PRESETS["2023+"], issued)
    assert d.first_purchase == D(2026, 6, 16)
    assert d.reminder_on == D(2026, 6, 9)
    old = cards.deadlines_at_issue(PRESETS["2020-22"], issued)
    assert old.first_purchase == D(2026, 7, 1)
    assert old.reminder_on == D(2026, 6, 24)


def test_spend_rest_deadline_only_from_2023():
    done = dt.datetime(2026, 6, 10, 18, 0, tzinfo=dt.UTC)  # 11 June in Jakarta
    assert cards.spend_rest_deadline(PRESETS["2023+"], done) == D(2026, 6, 26)
    assert cards.spend_rest_deadline(PRESETS["2020-22"], done) is None


def _state(**kw):
    base = {
        "status": "active",
        "first_purchase_deadline": D(2026, 6, 16),
        "reminder_on": D(2026, 6, 9),
        "reminder_sent": False,
        "purchased": False,
        "spend_rest_deadline": None,
        "issued_year": 2026,
    }
    return cards.CardState(**{**base, **kw})


def test_reminder_is_due_from_its_day_until_the_deadline_and_only_once():
    assert not cards.reminder_due(_state(), D(2026, 6, 8))
    assert cards.reminder_due(_state(), D(2026, 6, 9))
    assert cards.reminder_due(_state(), D(2026, 6, 16))
    assert not cards.reminder_due(_state(), D(2026, 6, 17))
    assert not cards.reminder_due(_state(reminder_sent=True), D(2026, 6, 10))
    assert not cards.reminder_due(_state(purchased=True), D(2026, 6, 10))


def test_revocation_is_due_the_day_after_the_deadline_without_a_purchase():
    assert not cards.revocation_due(_state(), D(2026, 6, 16))
    assert cards.revocation_due(_state(), D(2026, 6, 17))
    assert not cards.revocation_due(_state(purchased=True), D(2026, 7, 1))
    assert not cards.revocation_due(_state(status="closed"), D(2026, 7, 1))


def test_spend_rest_sweep_and_year_end():
    s = _state(purchased=True, spend_rest_deadline=D(2026, 6, 26))
    assert not cards.spend_rest_sweep_due(s, D(2026, 6, 26))
    assert cards.spend_rest_sweep_due(s, D(2026, 6, 27))
    assert not cards.spend_rest_sweep_due(_state(), D(2030, 1, 1))
    assert cards.year_end_due(_state(), 2026)
    assert not cards.year_end_due(_state(), 2025)
    assert cards.year_end_instant(2026) == dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)


def test_a_year_end_cut_off_waits_for_new_year_in_jakarta():
    new_year = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)  # 1 January 2027, 00:00 WIB
    cards.check_year_ended(2026, new_year)
    cards.check_year_ended(2025, new_year)
    for early in (new_year - dt.timedelta(seconds=1), dt.datetime(2026, 6, 1, tzinfo=dt.UTC)):
        with pytest.raises(cards.YearNotEnded):
            cards.check_year_ended(2026, early)


def test_next_step_tells_the_holder_what_to_do():
    assert cards.next_step(_state(), D(2026, 6, 2)) == "buy_first_course"
    assert cards.next_step(_state(purchased=True), D(2026, 6, 2)) == "keep_learning"
    s = _state(purchased=True, spend_rest_deadline=D(2026, 6, 26))
    assert cards.next_step(s, D(2026, 6, 20)) == "spend_rest"
    assert cards.next_step(_state(status="revoked"), D(2026, 6, 20)) == "revoked"
