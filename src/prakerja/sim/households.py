"""Family structure, ages and names for the population generator (vectorised, seeded).

A family is a head, usually a spouse, and children whose ages fit their mother's: a child is
born when the mother is 19-30, younger siblings one to three years apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from prakerja.sim.names import BALI_ORDER, TRADITION_NAMES, TRADITIONS, Tradition, tradition_of

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Objects = npt.NDArray[np.object_]
YEAR = 365.25


@dataclass(frozen=True)
class Households:
    """Per-person arrays (family index, role, sex, birth day) plus per-family ones."""

    family: Ints  # person -> family index; people of a family are contiguous
    starts: Ints  # family -> index of its head
    position: Ints  # person -> 0 head, 1 spouse (couples) or first child, ...
    couple: Bools  # family -> has a spouse
    female: Bools  # person
    birth_days: Ints  # person, days since 1970-01-01
    role: Objects  # head | spouse | child
    marital: Objects
    mother: Ints  # family -> person index of the mother, -1 if none in the family
    rng_uniform: npt.NDArray[np.float64]  # family -> a uniform draw (KK issue date)


def build(rng: np.random.Generator, sizes: Ints, as_of_days: int) -> Households:
    """Roles, sexes and coherent birth dates for families of the given sizes."""
    n_fam, n = len(sizes), int(sizes.sum())
    family = np.repeat(np.arange(n_fam), sizes)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    position = np.arange(n) - starts[family]
    couple = rng.random(n_fam) < np.where(sizes == 2, 0.8, 0.9)
    head_female = np.where(couple, rng.random(n_fam) < 0.05, rng.random(n_fam) < 0.7)
    is_head, is_spouse = position == 0, (position == 1) & couple[family]
    female = np.where(
        is_head, head_female[family], np.where(is_spouse, ~head_female[family], rng.random(n) < 0.5)
    )
    birth_days = _birth_days(
        rng, sizes, couple, head_female, family, is_head, is_spouse, as_of_days
    )
    role = np.where(is_head, "head", np.where(is_spouse, "spouse", "child")).astype(object)
    widowed = np.where(rng.random(n_fam) < 0.6, "cerai_mati", "cerai_hidup")
    marital = np.where(
        ~(is_head | is_spouse), "belum_kawin", np.where(couple[family], "kawin", widowed[family])
    ).astype(object)
    mother = np.where(head_female, starts, np.where(couple, starts + 1, -1))
    return Households(
        family,
        starts,
        position,
        couple,
        female,
        birth_days,
        role,
        marital,
        mother,
        rng.random(n_fam),
    )


def _birth_days(
    rng: np.random.Generator,
    sizes: Ints,
    couple: Bools,
    head_female: Bools,
    family: Ints,
    is_head: Bools,
    is_spouse: Bools,
    as_of_days: int,
) -> Ints:
    """Parents' ages fit their number of children; siblings are born 13-48 months apart."""
    n_fam, n = len(sizes), len(family)
    children = sizes - np.where(couple, 2, 1)
    head_age = rng.integers(22 + 3 * children, 65)
    spouse_age = np.clip(
        head_age + np.where(head_female, 2, -3) + np.rint(rng.normal(0, 3, n_fam)).astype(np.int64),
        18,
        80,
    )
    head = as_of_days - np.floor(head_age * YEAR).astype(np.int64) - rng.integers(1, 365, n_fam)
    spouse = as_of_days - np.floor(spouse_age * YEAR).astype(np.int64) - rng.integers(1, 365, n_fam)
    is_child = ~(is_head | is_spouse)
    gap = np.where(is_child, rng.integers(400, 1460, n), 0)
    before = np.cumsum(gap) - gap
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    before -= before[np.repeat(starts, sizes)]
    span = np.maximum.reduceat(before, starts)
    first = np.floor(rng.uniform(19, 31, n_fam) * YEAR).astype(np.int64)
    mother = np.where(head_female | ~couple, head, spouse)
    # The youngest child must be born before as_of: shorten the first gap (not below 18
    # years), then make both parents older by whatever is still missing.
    need = mother + first + span - (as_of_days - 30)
    cut = np.clip(need, 0, first - int(18 * YEAR))
    first -= cut
    older = np.maximum(need - cut, 0)
    head, spouse, mother = head - older, spouse - older, mother - older
    child = mother[family] + first[family] + before
    born: Ints = np.where(is_head, head[family], np.where(is_spouse, spouse[family], child))
    return born


@dataclass(frozen=True)
class Names:
    """Full name and mother's maiden name per person."""

    name: Objects
    mother: Objects


def names(rng: np.random.Generator, fam: Households, provinces: list[str]) -> Names:
    """Names by each family's regional tradition; children carry the family's clan name and
    their mother's name is the name of the mother in their family."""
    trad_of_family = np.array([TRADITION_NAMES.index(tradition_of(p)) for p in provinces])
    trad = trad_of_family[fam.family]
    name = np.empty(len(trad), dtype=object)
    mother_name = np.empty(len(trad), dtype=object)
    clan = rng.integers(0, 1 << 30, len(fam.starts))[fam.family]
    own_clan = np.where(fam.role == "spouse", rng.integers(0, 1 << 30, len(trad)), clan)
    order = np.where(
        fam.role == "child",
        fam.position - 1 - fam.couple[fam.family],
        rng.integers(0, 4, len(trad)),
    )
    for index, key in enumerate(TRADITION_NAMES):
        mask = trad == index
        if mask.any():
            tradition, k = TRADITIONS[key], int(mask.sum())
            name[mask] = _full(rng, tradition, fam.female[mask], own_clan[mask], order[mask])
            mother_name[mask] = _full(
                rng, tradition, np.ones(k, bool), rng.integers(0, 1 << 30, k), rng.integers(0, 4, k)
            )
    mother_of = fam.mother[fam.family]
    has_mother = (fam.role == "child") & (mother_of >= 0)
    mother_name[has_mother] = name[mother_of[has_mother]]
    return Names(name, mother_name)


def _pick(rng: np.random.Generator, pool: tuple[str, ...], n: int) -> Objects:
    return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]


def _full(
    rng: np.random.Generator, t: Tradition, female: Bools, clan: Ints, order: Ints
) -> Objects:
    n = len(female)
    given = np.where(female, _pick(rng, t.female, n), _pick(rng, t.male, n))
    if t.balinese:
        prefix = np.where(female, "Ni ", "I ").astype(object)
        birth = np.array(BALI_ORDER, dtype=object)[np.clip(order, 0, None) % 4]
        full: Objects = prefix + birth + " " + given
    elif t.family:
        full = given + " " + np.array(t.family, dtype=object)[clan % len(t.family)]
    else:
        second = np.where(female, _pick(rng, t.second_female, n), _pick(rng, t.second_male, n))
        full = given + np.where(rng.random(n) < 0.85, " " + second, "").astype(object)
    return full
