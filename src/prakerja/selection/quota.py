"""Wave quotas: exact largest-remainder apportionment over provinces, then kabupaten/kota.

Pure functions over exact rationals (`fractions.Fraction`): the same inputs give the same quotas
in any language that follows docs/selection-algorithm.md, and the parts always add up exactly.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from prakerja.kit.errors import Invalid

CELL_CODE = re.compile(r"^[0-9]{2}\.[0-9]{2}$")


class QuotaError(Invalid):
    code = "selection.quota_invalid"
    title = "The quota inputs are inconsistent"


@dataclass(frozen=True)
class QuotaInputs:
    """What an operator chooses; `split_quota` turns it into one integer quota per cell."""

    places: int
    indicators: Mapping[str, Mapping[str, int]]
    coefficients: Mapping[str, int]
    minimum: int = 0
    bonus_percent: int = 0
    bonus_cells: frozenset[str] = field(default_factory=frozenset)
    capacity: Mapping[str, int] | None = None


def _nonneg_int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise QuotaError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def cells_of(inputs: QuotaInputs) -> list[str]:
    """The sorted cell codes; every indicator (and capacity) must cover exactly these cells."""
    if not inputs.indicators:
        raise QuotaError("at least one indicator is needed")
    first = next(iter(inputs.indicators.values()))
    cells = sorted(first)
    if not cells:
        raise QuotaError("the indicators name no region")
    bad = [c for c in cells if not CELL_CODE.match(c)]
    if bad:
        raise QuotaError(f"not a kabupaten/kota code: {bad[0]!r}")
    for name, values in inputs.indicators.items():
        if sorted(values) != cells:
            raise QuotaError(f"indicator {name!r} does not cover the same regions")
    if inputs.capacity is not None and sorted(inputs.capacity) != cells:
        raise QuotaError("capacity does not cover the same regions as the indicators")
    unknown = sorted(set(inputs.bonus_cells) - set(cells))
    if unknown:
        raise QuotaError(f"bonus region not among the cells: {unknown[0]!r}")
    return cells


def cell_weights(inputs: QuotaInputs, cells: Sequence[str]) -> list[Fraction]:
    """w_c = sum_k coef_k * ind_k[c] / sum(ind_k), times (100 + bonus)/100 for bonus cells."""
    if set(inputs.coefficients) != set(inputs.indicators):
        raise QuotaError("each indicator needs exactly one coefficient")
    weights = [Fraction(0)] * len(cells)
    for name, values in inputs.indicators.items():
        coef = _nonneg_int(inputs.coefficients[name], f"coefficient {name}")
        total = sum(_nonneg_int(values[c], f"indicator {name}[{c}]") for c in cells)
        if coef == 0 or total == 0:
            continue
        for i, c in enumerate(cells):
            weights[i] += Fraction(coef * values[c], total)
    bonus = Fraction(100 + _nonneg_int(inputs.bonus_percent, "bonus_percent"), 100)
    return [
        w * bonus if c in inputs.bonus_cells else w for c, w in zip(cells, weights, strict=True)
    ]


def _clamp(x: Fraction, lo: int, hi: int | None) -> Fraction:
    if x < lo:
        return Fraction(lo)
    if hi is not None and x > hi:
        return Fraction(hi)
    return x


def _water_level(
    total: int, weights: Sequence[Fraction], mins: Sequence[int], caps: Sequence[int | None]
) -> Fraction:
    """The lambda with sum(clamp(lambda * w_i, min_i, cap_i)) == total (total is reachable)."""

    def f(lam: Fraction) -> Fraction:
        return sum(
            (_clamp(lam * w, m, c) for w, m, c in zip(weights, mins, caps, strict=True)),
            Fraction(0),
        )

    points = {Fraction(0)}
    for w, m, c in zip(weights, mins, caps, strict=True):
        if w > 0:
            points.add(m / w)
            if c is not None:
                points.add(c / w)
    ordered = sorted(points)
    lo, hi = 0, len(ordered) - 1
    while lo < hi:  # largest breakpoint with f <= total
        mid = (lo + hi + 1) // 2
        if f(ordered[mid]) <= total:
            lo = mid
        else:
            hi = mid - 1
    base = ordered[lo]
    at_base = f(base)
    if at_base == total:
        return base
    free = sum(
        (
            w
            for w, m, c in zip(weights, mins, caps, strict=True)
            if w > 0 and m / w <= base and (c is None or c / w > base)
        ),
        Fraction(0),
    )
    return base + (total - at_base) / free


def apportion(
    total: int, weights: Sequence[Fraction], mins: Sequence[int], caps: Sequence[int | None]
) -> list[int]:
    """Integer parts within [min_i, cap_i] that add up to min(total, reachable) exactly.

    Shares are clamp(lambda * w_i, min_i, cap_i) with one common lambda; each part gets the floor
    of its share, and the places left go one each by largest remainder, then larger weight, then
    lower position.
    """
    _nonneg_int(total, "places")
    if not len(weights) == len(mins) == len(caps):
        raise QuotaError("weights, minimums and caps differ in length")
    for m, c in zip(mins, caps, strict=True):
        if c is not None and c < m:
            raise QuotaError(f"a capacity ({c}) is below the minimum ({m})")
    if any(w < 0 for w in weights):
        raise QuotaError("weights must not be negative")
    if sum(mins) > total:
        raise QuotaError(f"minimums ({sum(mins)}) exceed the places ({total})")
    reach: float | int = sum(
        m if w == 0 else (math.inf if c is None else c)
        for w, m, c in zip(weights, mins, caps, strict=True)
    )
    effective = total if reach >= total else int(reach)
    lam = _water_level(effective, weights, mins, caps)
    shares = [_clamp(lam * w, m, c) for w, m, c in zip(weights, mins, caps, strict=True)]
    parts = [math.floor(s) for s in shares]
    left = effective - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: (-(shares[i] - parts[i]), -weights[i], i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split_quota(inputs: QuotaInputs) -> dict[str, int]:
    """Cell quotas: places over provinces (code prefix) by summed weight, then over their cells."""
    cells = cells_of(inputs)
    weights = cell_weights(inputs, cells)
    minimum = _nonneg_int(inputs.minimum, "minimum")
    caps: list[int | None] = [None] * len(cells)
    if inputs.capacity is not None:
        caps = [_nonneg_int(inputs.capacity[c], f"capacity[{c}]") for c in cells]
    provinces = sorted({c[:2] for c in cells})
    members = {p: [i for i, c in enumerate(cells) if c[:2] == p] for p in provinces}
    p_caps: list[int | None] = [
        None
        if inputs.capacity is None
        else sum((caps[i] or 0) if weights[i] > 0 else minimum for i in members[p])
        for p in provinces
    ]
    p_parts = apportion(
        inputs.places,
        [sum((weights[i] for i in members[p]), Fraction(0)) for p in provinces],
        [minimum * len(members[p]) for p in provinces],
        p_caps,
    )
    quotas: dict[str, int] = {}
    for p, part in zip(provinces, p_parts, strict=True):
        idx = members[p]
        inner = apportion(
            part, [weights[i] for i in idx], [minimum] * len(idx), [caps[i] for i in idx]
        )
        quotas.update({cells[i]: q for i, q in zip(idx, inner, strict=True)})
    return quotas


def read_indicator_csv(text: str, column: str) -> dict[str, int]:
    """One indicator from CSV with a `code` column: kabupaten/kota code -> non-negative integer."""
    reader = csv.DictReader(io.StringIO(text))
    if (
        reader.fieldnames is None
        or "code" not in reader.fieldnames
        or column not in reader.fieldnames
    ):
        raise QuotaError(f"the CSV needs the columns 'code' and {column!r}")
    values: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        code, raw = (row["code"] or "").strip(), (row[column] or "").strip()
        if not CELL_CODE.match(code):
            raise QuotaError(f"line {line}: not a kabupaten/kota code: {code!r}")
        if code in values:
            raise QuotaError(f"line {line}: region {code} appears twice")
        if not raw.isdigit():
            raise QuotaError(f"line {line}: {column} must be a non-negative integer")
        values[code] = int(raw)
    return values
