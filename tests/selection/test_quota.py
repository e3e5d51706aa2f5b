"""Quotas: exact largest-remainder apportionment, minimums, capacity caps, two levels."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.selection.quota import (
    QuotaError,
    QuotaInputs,
    apportion,
    read_indicator_csv,
    split_quota,
)

F = Fraction


@pytest.mark.parametrize(
    ("total", "weights", "mins", "caps", "expected"),
    [
        (10, [1, 1, 1], [0, 0, 0], [None] * 3, [4, 3, 3]),
        (10, [5, 3, 2], [0, 0, 0], [None] * 3, [5, 3, 2]),
        (100, [90, 9, 1], [5, 5, 5], [None] * 3, [86, 9, 5]),
        (100, [90, 9, 1], [5, 5, 5], [50, None, None], [50, 45, 5]),
        (7, [1, 2], [0, 0], [None, None], [2, 5]),
        (10, [0, 0], [2, 3], [None, None], [2, 3]),  # no weight: only the minimums can be given
        (10, [1, 1], [0, 0], [3, 4], [3, 4]),  # capacity shrinks the wave
    ],
)
def test_documented_apportionment_vectors(total, weights, mins, caps, expected):
    assert apportion(total, [F(w) for w in weights], mins, caps) == expected


def test_equal_remainders_go_to_the_larger_weight_first():
    # shares 1.5 and 1.5 would tie; with weights 3 and 1 (total 2) shares are 1.5 / 0.5
    assert apportion(3, [F(1), F(1)], [0, 0], [None, None]) == [2, 1]
    assert apportion(2, [F(1), F(3)], [0, 0], [None, None]) == [0, 2]
    assert apportion(1, [F(1, 2), F(1, 2)], [0, 0], [None, None]) == [1, 0]


weights = st.lists(st.integers(0, 1000), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 5000), ws=weights, data=st.data())
def test_parts_add_up_exactly_and_respect_minimums_and_caps(total, ws, data):
    n = len(ws)
    mins = data.draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    caps = data.draw(st.lists(st.one_of(st.none(), st.integers(30, 3000)), min_size=n, max_size=n))
    if sum(mins) > total:
        with pytest.raises(QuotaError):
            apportion(total, [F(w) for w in ws], mins, caps)
        return
    parts = apportion(total, [F(w) for w in ws], mins, caps)
    reach = sum(
        m if w == 0 else (c if c is not None else 10**9)
        for w, m, c in zip(ws, mins, caps, strict=True)
    )
    assert sum(parts) == min(total, reach)
    for part, m, c in zip(parts, mins, caps, strict=True):
        assert part >= m
        assert c is None or part <= c


@settings(max_examples=200, deadline=None)
@given(total=st.integers(0, 5000), ws=weights.filter(lambda w: sum(w) > 0))
def test_without_bounds_each_part_is_its_exact_share_rounded_up_or_down(total, ws):
    parts = apportion(total, [F(w) for w in ws], [0] * len(ws), [None] * len(ws))
    for part, w in zip(parts, ws, strict=True):
        share = F(total * w, sum(ws))
        assert share - 1 < part < share + 1


def _inputs(**change):
    base = {
        "places": 1000,
        "indicators": {
            "population": {"11.01": 300, "11.02": 100, "12.01": 600},
            "unemployed": {"11.01": 10, "11.02": 30, "12.01": 60},
        },
        "coefficients": {"population": 1, "unemployed": 1},
        "minimum": 50,
        "bonus_percent": 20,
        "bonus_cells": frozenset({"11.02"}),
    }
    base.update(change)
    return QuotaInputs(**base)


def test_documented_two_level_vector():
    assert split_quota(_inputs()) == {"11.01": 192, "11.02": 231, "12.01": 577}


def test_a_bonus_region_gets_more_than_without_bonus():
    assert split_quota(_inputs())["11.02"] > split_quota(_inputs(bonus_percent=0))["11.02"]


@settings(max_examples=100, deadline=None)
@given(
    places=st.integers(0, 100_000),
    pops=st.lists(st.integers(0, 10**6), min_size=6, max_size=6),
    minimum=st.integers(0, 20),
    caps=st.one_of(st.none(), st.lists(st.integers(20, 30_000), min_size=6, max_size=6)),
)
def test_split_quota_adds_up_exactly(places, pops, minimum, caps):
    cells = ["11.01", "11.02", "12.01", "12.02", "12.03", "31.71"]
    inputs = QuotaInputs(
        places=places,
        indicators={"pop": dict(zip(cells, pops, strict=True))},
        coefficients={"pop": 1},
        minimum=minimum,
        capacity=None if caps is None else dict(zip(cells, caps, strict=True)),
    )
    if minimum * len(cells) > places:
        with pytest.raises(QuotaError):
            split_quota(inputs)
        return
    quotas = split_quota(inputs)
    reach = (
        places
        if caps is None
        else sum(c if p else minimum for c, p in zip(caps, pops, strict=True))
    )
    if sum(pops) == 0:
        reach = minimum * len(cells)
    assert sum(quotas.values()) == min(places, reach)
    assert all(q >= minimum for q in quotas.values())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"minimum": 400}, "minimums"),
        ({"indicators": {"population": {"11.01": 1}, "unemployed": {"11.02": 1}}}, "same regions"),
        ({"coefficients": {"population": 1}}, "coefficient"),
        ({"bonus_cells": frozenset({"99.99"})}, "bonus"),
        ({"indicators": {"population": {"1101": 1}, "unemployed": {"1101": 1}}}, "code"),
    ],
)
def test_inconsistent_inputs_are_refused_with_a_reason(change, message):
    with pytest.raises(QuotaError, match=message):
        split_quota(_inputs(**change))


def test_indicator_csv_is_read_by_region_code():
    text = "code,name,unemployed\n11.01,Aceh Selatan,120\n11.02,Aceh Tenggara,0\n"
    assert read_indicator_csv(text, "unemployed") == {"11.01": 120, "11.02": 0}


@pytest.mark.parametrize(
    "text",
    [
        "code,x\n11.01,1\n",
        "code,v\n11.01,-3\n",
        "code,v\n1101,3\n",
        "code,v\n11.01,1\n11.01,2\n",
        "code,v\n11.01,1.5\n",
    ],
)
def test_bad_indicator_csv_is_refused(text):
    with pytest.raises(QuotaError):
        read_indicator_csv(text, "v")
