"""A seeded synthetic population: families on a family card (KK) spread over all 514 kabupaten/kota.

Same seed, count, weights and `as_of` give the same people. Every NIK carries its holder's
kecamatan code, birth date (day + 40 for women) and a serial unique within (kecamatan, birth
date); every KK number carries the kecamatan, the issue date and a serial unique within both.
Generation is vectorised (numpy): 100,000 people take well under a few seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from prakerja.sim import households
from prakerja.sim.names import HAMLETS, STREETS
from prakerja.sim.regions import RegionTables, tables

Ints = npt.NDArray[np.int64]
AS_OF = dt.date(2024, 7, 1)
RURAL_SHARE = 0.70
SCHEMA: dict[str, Any] = {
    "nik": pl.String,
    "kk": pl.String,
    "name": pl.String,
    "sex": pl.String,
    "birth_date": pl.Date,
    "mother_name": pl.String,
    "family_role": pl.String,
    "marital_status": pl.String,
    "province_code": pl.String,
    "regency_code": pl.String,
    "district_code": pl.String,
    "village_code": pl.String,
    "village_type": pl.String,
    "address": pl.String,
}


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic resident as the civil registry knows them."""

    nik: str
    kk: str
    name: str
    sex: str  # L | P
    birth_date: dt.date
    mother_name: str
    family_role: str  # head | spouse | child
    marital_status: str  # kawin | belum_kawin | cerai_hidup | cerai_mati
    province_code: str
    regency_code: str
    district_code: str
    village_code: str
    village_type: str  # rural | urban
    address: str


class Population:
    """A generated population held as a polars frame, one row per person, grouped by family."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return self.frame.height

    def people(self) -> list[Person]:
        """Every person as a dataclass (fine for thousands; use `frame` for bulk work)."""
        return [Person(**row) for row in self.frame.iter_rows(named=True)]

    def person(self, index: int) -> Person:
        """The person on row `index`."""
        return Person(**self.frame.row(index, named=True))

    def write_jsonl(self, path: str | Path) -> None:
        """Write one JSON object per line, dates as ISO strings."""
        self.frame.with_columns(pl.col("birth_date").dt.to_string("%Y-%m-%d")).write_ndjson(path)

    @classmethod
    def load(cls, path: str | Path) -> Population:
        """Read a file written by `write_jsonl`."""
        schema = {**SCHEMA, "birth_date": pl.String}
        frame = pl.read_ndjson(path, schema=schema)
        return cls(frame.with_columns(pl.col("birth_date").str.to_date("%Y-%m-%d")))


def generate(
    count: int, *, seed: int = 0, weights: dict[str, float] | None = None, as_of: dt.date = AS_OF
) -> Population:
    """`count` people in families of 2-6 (one smaller only if count < 2). With at least as many
    families as regencies of positive weight, each of those regencies gets at least one family;
    the rest are drawn by `weights` (regency code -> weight; default: equal weights)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rng = np.random.default_rng(seed)
    t = tables()
    sizes = _family_sizes(rng, count)
    regency = _regencies(rng, len(sizes), t, weights)
    kec = t.kec_start[regency] + (rng.random(len(sizes)) * t.kec_count[regency]).astype(np.int64)
    village, rural = _villages(rng, kec, t)
    fam = households.build(rng, sizes, _date_days(as_of))
    nik, kk = _numbers(fam, kec, _kec_numbers(t), as_of)
    province = [t.regencies[r][:2] for r in regency]
    names = households.names(rng, fam, province)
    address = _addresses(rng, t, regency, kec, village, rural)
    return Population(_frame(t, fam, regency, kec, village, rural, nik, kk, names, address))


def _family_sizes(rng: np.random.Generator, count: int) -> Ints:
    """Sizes 2-6 summing to `count` exactly."""
    sizes = rng.choice(np.arange(2, 7), size=count // 2 + 1, p=[0.22, 0.26, 0.27, 0.16, 0.09])
    total = np.cumsum(sizes)
    last = int(np.searchsorted(total, count))
    sizes = sizes[: last + 1].astype(np.int64)
    sizes[-1] -= int(total[last]) - count
    if sizes[-1] == 1 and len(sizes) > 1:
        donors = np.flatnonzero(sizes[:-1] > 2)
        if len(donors) == 0:  # every other family has 2: the last person joins one of them
            sizes[-2] += 1
            return sizes[:-1]
        sizes[donors[0]] -= 1
        sizes[-1] = 2
    return sizes


def _regencies(
    rng: np.random.Generator, n: int, t: RegionTables, weights: dict[str, float] | None
) -> Ints:
    w = np.ones(len(t.regencies))
    if weights is not None:
        unknown = sorted(set(weights) - set(t.regencies))
        if unknown:
            raise ValueError(f"unknown regency codes in weights: {', '.join(unknown[:5])}")
        w = np.array([float(weights.get(code, 0.0)) for code in t.regencies])
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
    positive = np.flatnonzero(w > 0)
    if n >= len(positive):
        drawn = rng.choice(len(w), size=n - len(positive), p=w / w.sum())
        return rng.permutation(np.concatenate([positive, drawn])).astype(np.int64)
    return rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int64)


def _villages(rng: np.random.Generator, kec: Ints, t: RegionTables) -> tuple[Ints, Ints]:
    """A village per family; where a kecamatan has both kinds, the rural (desa) odds are set so
    that RURAL_SHARE of all families live in a desa (many kecamatan have no kelurahan)."""
    has_urban, has_rural = t.vil_count[0, kec] > 0, t.vil_count[1, kec] > 0
    only_rural, both = (has_rural & ~has_urban).mean(), (has_rural & has_urban).mean()
    odds = float(np.clip((RURAL_SHARE - only_rural) / both, 0, 1)) if both else RURAL_SHARE
    kind = (rng.random(len(kec)) < odds).astype(np.int64)
    kind = np.where(t.vil_count[kind, kec] == 0, 1 - kind, kind)
    pick = (rng.random(len(kec)) * t.vil_count[kind, kec]).astype(np.int64)
    return t.vil_start[kind, kec] + pick, kind


def _date_days(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def _kec_numbers(t: RegionTables) -> Ints:
    return np.array([int(code.replace(".", "")) for code in t.kec_codes], dtype=np.int64)


def _ddmmyy(days: Ints) -> Ints:
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    day = (dates - months).astype(np.int64) + 1
    month = months.astype(np.int64) % 12 + 1
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    code: Ints = day * 10_000 + month * 100 + year % 100
    return code


def _serials(keys: Ints) -> Ints:
    """1-based rank of each element among equal keys (a vectorised group cumcount)."""
    order = np.argsort(keys, kind="stable")
    ranked = keys[order]
    first = np.concatenate(([True], ranked[1:] != ranked[:-1]))
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))
    serial = np.empty_like(keys)
    serial[order] = np.arange(len(keys)) - group_start + 1
    if len(serial) and serial.max() > 9999:
        raise ValueError("more than 9999 people share a kecamatan and a date; spread them out")
    return serial


def _numbers(
    fam: households.Households, kec: Ints, kec_num: Ints, as_of: dt.date
) -> tuple[list[str], list[str]]:
    """NIK per person and KK number per family, as 16-digit strings."""
    person_kec = kec_num[kec][fam.family]
    birth = _ddmmyy(fam.birth_days) + 40 * 10_000 * fam.female.astype(np.int64)
    nik = person_kec * 10**10 + birth * 10**4 + _serials(person_kec * 10**6 + birth)
    youngest = np.maximum.reduceat(fam.birth_days, fam.starts)
    low = np.maximum(youngest, _date_days(dt.date(2005, 1, 1)))
    high = _date_days(as_of)
    issued = low + (fam.rng_uniform * (high - low)).astype(np.int64)
    issue = _ddmmyy(issued)
    family_kec = kec_num[kec]
    kk = family_kec * 10**10 + issue * 10**4 + _serials(family_kec * 10**6 + issue)
    return nik.astype(str).tolist(), kk.astype(str).tolist()


def _addresses(
    rng: np.random.Generator, t: RegionTables, regency: Ints, kec: Ints, village: Ints, rural: Ints
) -> list[str]:
    streets, hamlets = STREETS, HAMLETS
    street = rng.integers(0, len(streets), len(kec))
    hamlet = rng.integers(0, len(hamlets), len(kec))
    number, rt, rw = (rng.integers(1, hi, len(kec)) for hi in (200, 20, 12))
    out = []
    for i in range(len(kec)):
        vil = t.names[t.villages[village[i]]]
        reg_code = t.regencies[regency[i]]
        tail = f"Kec. {t.names[t.kec_codes[kec[i]]]}, {t.names[reg_code]}, {t.names[reg_code[:2]]}"
        rtrw = f"RT {rt[i]:03d}/RW {rw[i]:03d}"
        out.append(
            f"Dusun {hamlets[hamlet[i]]} {rtrw}, Desa {vil}, {tail}"
            if rural[i]
            else f"Jl. {streets[street[i]]} No. {number[i]}, {rtrw}, Kel. {vil}, {tail}"
        )
    return out


def _frame(
    t: RegionTables,
    fam: households.Households,
    regency: Ints,
    kec: Ints,
    village: Ints,
    rural: Ints,
    nik: list[str],
    kk: list[str],
    names: households.Names,
    address: list[str],
) -> pl.DataFrame:
    f = fam.family
    reg_codes = np.array(t.regencies, dtype=object)[regency][f]
    return pl.DataFrame(
        {
            "nik": nik,
            "kk": np.array(kk, dtype=object)[f],
            "name": names.name,
            "sex": np.where(fam.female, "P", "L"),
            "birth_date": pl.Series(fam.birth_days.astype(np.int32)).cast(pl.Date),
            "mother_name": names.mother,
            "family_role": fam.role,
            "marital_status": fam.marital,
            "province_code": [c[:2] for c in reg_codes],
            "regency_code": reg_codes,
            "district_code": np.array(t.kec_codes, dtype=object)[kec][f],
            "village_code": np.array(t.villages, dtype=object)[village][f],
            "village_type": np.where(rural[f] == 1, "rural", "urban"),
            "address": np.array(address, dtype=object)[f],
        },
        schema=SCHEMA,
    )
