"""The draw: equal to the sequential reference, and the properties the issue promises."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import replace
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.selection import draw as drawing
from prakerja.selection.draw import DrawError, DrawSpec, draw

from .conftest import CELLS, make_rows, pools, specs
from .reference import reference_phases

SEED = hashlib.sha256(b"test-seed").digest()


def _crowd(n: int, salt: int = 0) -> object:
    people = [
        {"kk": 2 * i, "prior": 0, "cell": i % 3, "tier": 0, "flags": 0, "status": 0}
        for i in range(n)
    ]
    return make_rows(people, salt)


@settings(max_examples=150, deadline=None)
@given(rows=pools, spec=specs)
def test_vectorised_draw_equals_the_sequential_reference(rows, spec):
    result = draw(rows, spec, workers=1)
    assert result.phase.tolist() == reference_phases(rows, spec)


@settings(max_examples=100, deadline=None)
@given(rows=pools, spec=specs)
def test_no_ineligible_applicant_wins_and_the_kk_cap_holds(rows, spec):
    result = draw(rows, spec, workers=1)
    assert not np.any(result.winners & (rows["status"] != 0))
    per_kk = Counter(bytes(k) for k in rows["kk"][result.winners])
    for row in rows[result.winners]:
        assert per_kk[bytes(row["kk"])] <= spec.kk_cap - int(row["kk_prior"])


@settings(max_examples=100, deadline=None)
@given(rows=pools, spec=specs)
def test_each_cell_gets_its_quota_or_its_whole_pool(rows, spec):
    result = draw(rows, spec, workers=1)
    won = Counter(bytes(k) for k in rows["kk"][result.winners])
    assert result.priority_filled <= spec.priority_quota
    for code in CELLS:
        assert result.filled[code] <= spec.quotas[code]
        if result.filled[code] == spec.quotas[code]:
            continue
        cell = int(code.replace(".", ""))
        for row in rows[(rows["cell"] == cell) & (rows["status"] == 0) & ~result.winners]:
            assert won[bytes(row["kk"])] >= spec.kk_cap - int(row["kk_prior"])


@settings(max_examples=50, deadline=None)
@given(rows=pools, spec=specs)
def test_same_inputs_give_the_same_winners_and_waitlist(rows, spec):
    first, second = draw(rows, spec, workers=1), draw(rows.copy(), spec, workers=1)
    assert first.phase.tolist() == second.phase.tolist()
    assert first.waitlist.tolist() == second.waitlist.tolist()


@settings(max_examples=30, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), other=st.binary(min_size=32, max_size=32))
def test_a_different_seed_draws_different_winners(seed, other):
    rows = _crowd(300)
    spec = DrawSpec(seed=seed, wave_id=1, quotas=dict.fromkeys(CELLS, 30))
    if seed != other:
        a, b = draw(rows, spec, workers=1), draw(rows, replace(spec, seed=other), workers=1)
        assert a.phase.tolist() != b.phase.tolist()


def test_the_wave_id_changes_the_ranking():
    rows = _crowd(300)
    spec = DrawSpec(seed=SEED, wave_id=1, quotas=dict.fromkeys(CELLS, 30))
    assert draw(rows, spec).order.tolist() != draw(rows, replace(spec, wave_id=2)).order.tolist()


def test_waitlist_lists_every_eligible_loser_by_cell_then_draw_order():
    rows = _crowd(90)
    result = draw(rows, DrawSpec(seed=SEED, wave_id=4, quotas=dict.fromkeys(CELLS, 10)))
    assert sorted(result.waitlist.tolist()) == np.flatnonzero(~result.winners).tolist()
    cells = rows["cell"][result.waitlist].tolist()
    assert cells == sorted(cells)
    position = {row: n for n, row in enumerate(result.order.tolist())}
    for code in set(cells):
        ranks = [position[r] for r in result.waitlist.tolist() if rows["cell"][r] == code]
        assert ranks == sorted(ranks)


def test_priority_tiers_are_drawn_first_then_rank():
    people = [
        {
            "kk": 2 * i,
            "prior": 0,
            "cell": 0,
            "tier": 2 if i < 5 else (1 if i < 8 else 0),
            "flags": 0,
            "status": 0,
        }
        for i in range(40)
    ]
    rows = make_rows(people)
    result = draw(
        rows, DrawSpec(seed=SEED, wave_id=9, quotas=dict.fromkeys(CELLS, 0), priority_quota=6)
    )
    tiers = rows["tier"][result.order].tolist()
    assert tiers[:8] == [1, 1, 1, 2, 2, 2, 2, 2]
    assert set(np.flatnonzero(result.winners).tolist()) == set(result.order[:6].tolist())


def test_rank_prefixes_are_the_first_eight_bytes_of_the_documented_digest():
    rows = _crowd(20)
    head = SEED + (77).to_bytes(4, "big")
    got = drawing.rank_prefixes(head, rows["pid"], 3, workers=1)
    for pid, prefix in zip(rows["pid"], got.tolist(), strict=True):
        digest = hashlib.sha256(head + bytes(pid) + b"\x03").digest()
        assert prefix == int.from_bytes(digest[:8], "big")


def test_hashing_in_two_processes_gives_the_same_ranks(monkeypatch):
    rows = _crowd(500)
    head = SEED + (5).to_bytes(4, "big")
    alone = drawing.rank_prefixes(head, rows["pid"], 1, workers=1)
    monkeypatch.setattr(drawing, "_PARALLEL_MIN", 10)
    assert drawing.rank_prefixes(head, rows["pid"], 1, workers=2).tolist() == alone.tolist()


def test_equal_prefixes_are_ordered_by_full_digest_then_pseudonym():
    prefixes = np.array([5, 3, 5, 5, 1], np.uint64)
    keys = {0: (b"\x02", b"a"), 2: (b"\x01", b"z"), 3: (b"\x02", b"0")}
    order = drawing.sort_ranks(prefixes, lambda i: keys[i])
    assert order.tolist() == [4, 1, 2, 3, 0]


def test_kk_groups_tell_apart_kks_that_share_their_first_eight_bytes():
    kk = np.zeros((4, 16), np.uint8)
    kk[1, 15] = 1
    kk[2, 15] = 0
    kk[3, 0] = 9
    groups = drawing.kk_groups(kk)[0].tolist()
    assert groups[0] == groups[2]
    assert len({groups[0], groups[1], groups[3]}) == 3


def test_inclusion_tickets_raise_the_chance_of_flagged_applicants():
    people = [
        {"kk": 2 * i, "prior": 0, "cell": 0, "tier": 0, "flags": i % 2, "status": 0}
        for i in range(2000)
    ]
    rows = make_rows(people)
    spec = DrawSpec(
        seed=SEED,
        wave_id=3,
        quotas={"11.01": 400, "11.02": 0, "12.01": 0},
        inclusion_tickets={0: 2},
    )
    won = rows["flags"][draw(rows, spec).winners]
    assert (won == 1).sum() > 2 * (won == 0).sum()  # 3 tickets against 1


def test_a_region_without_quota_is_refused():
    rows = _crowd(10)
    with pytest.raises(DrawError):
        draw(rows, DrawSpec(seed=SEED, wave_id=1, quotas={"11.01": 3}))


def test_kk_rows_that_disagree_on_prior_recipients_are_refused():
    rows = _crowd(4).copy()
    rows["kk"][1] = rows["kk"][0]
    rows["kk_prior"][0] = 1
    with pytest.raises(DrawError, match="prior"):
        draw(rows, DrawSpec(seed=SEED, wave_id=1, quotas=dict.fromkeys(CELLS, 1)))


@pytest.mark.parametrize(
    "change",
    [{"seed": b"short"}, {"wave_id": 2**32}, {"kk_cap": -1}, {"inclusion_tickets": {8: 1}}],
)
def test_bad_specs_are_refused(change):
    spec = replace(DrawSpec(seed=SEED, wave_id=1, quotas=dict.fromkeys(CELLS, 1)), **change)
    with pytest.raises(DrawError):
        draw(_crowd(3), spec)


@settings(max_examples=100, deadline=None)
@given(rows=pools, spec=specs)
def test_filling_in_small_blocks_equals_the_sequential_reference(rows, spec):
    with patch.object(drawing, "_FIRST_BLOCK", 1):  # blocks of 1, 2, 4, ... candidates
        result = draw(rows, spec, workers=1)
    assert result.phase.tolist() == reference_phases(rows, spec)


def _families(n: int) -> object:
    """Big KKs (prior 0 or 1) spread over the three cells, with priority rows and flags."""
    people = [
        {
            "kk": 2 * (i // 5) + (i % 7 == 0),
            "prior": 0,
            "cell": (i * 7) % 3,
            "tier": (i % 11 == 0) + (i % 13 == 0),
            "flags": i % 4,
            "status": int(i % 17 == 0),
        }
        for i in range(n)
    ]
    return make_rows(people, salt=9)


@pytest.mark.parametrize("redistribute", [False, True])
def test_hashing_workers_and_crowded_kks_give_the_reference_winners(monkeypatch, redistribute):
    rows = _families(1500)
    spec = DrawSpec(
        seed=SEED,
        wave_id=11,
        quotas={"11.01": 150, "11.02": 90, "12.01": 400},
        priority_quota=40,
        kk_cap=2,
        inclusion_tickets={0: 2, 1: 1},
        redistribute_unfilled=redistribute,
    )
    monkeypatch.setattr(drawing, "_PARALLEL_MIN", 10)
    monkeypatch.setattr(drawing, "_FIRST_BLOCK", 7)
    forked = draw(rows, spec, workers=2)
    assert forked.phase.tolist() == reference_phases(rows, spec)
    alone = draw(rows, spec, workers=1)
    assert forked.order.tolist() == alone.order.tolist()
    assert forked.waitlist.tolist() == alone.waitlist.tolist()


def test_sort_pairs_orders_like_the_bytes_when_leading_bits_collide():
    rng = np.random.default_rng(5)
    words = rng.integers(0, 2**64, (3000, 2), dtype=np.uint64)
    words[::3, 0] = words[0, 0] ^ rng.integers(0, 16, 1000, dtype=np.uint64)  # same leading bits
    words[::7] = words[1]  # equal pairs keep their row order
    expect = np.lexsort((np.arange(3000), words[:, 1], words[:, 0]))
    assert drawing.sort_pairs(words).tolist() == expect.tolist()


def test_draw_order_breaks_leading_bit_ties_on_the_full_digest():
    prefixes = np.array([7 << 40, (7 << 40) + 1, 7 << 40, 1 << 63], np.uint64)
    keys = {0: (b"\x05", b"b"), 2: (b"\x05", b"a")}
    tiers = np.array([2, 2, 2, 1], np.uint8)
    assert drawing.sort_ranks(prefixes, lambda i: keys[i], tiers).tolist() == [3, 2, 0, 1]
