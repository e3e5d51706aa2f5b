"""The verifiable draw: SHA-256 ranks, priority tiers, cell quotas and the KK cap, vectorised.

Pure: the same pool rows and `DrawSpec` always give the same `DrawResult`; docs/
selection-algorithm.md is the normative description, and tests compare this module with a
plain sequential re-implementation of that text.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import methodcaller

import numpy as np
import numpy.typing as npt

from prakerja.kit.errors import Invalid
from prakerja.selection.quota import CELL_CODE

try:  # CPython's built-in SHA-256 has less per-call overhead than OpenSSL's for 53-byte inputs
    from _sha256 import sha256 as _sha256  # CPython <= 3.11
except ImportError:  # pragma: no cover - newer CPython
    try:
        from _sha2 import sha256 as _sha256  # CPython >= 3.12
    except ImportError:
        _sha256 = hashlib.sha256

POOL_DTYPE = np.dtype(
    [
        ("pid", "u1", (16,)),
        ("kk", "u1", (16,)),
        ("cell", ">u2"),
        ("tier", "u1"),
        ("flags", "u1"),
        ("kk_prior", "u1"),
        ("status", "u1"),
    ]
)
NO_TIER = 255  # sort key of tier 0 (no priority): after every priority tier 1..254
_CHUNK = 1 << 18
_PARALLEL_MIN = 200_000
_DIGEST = methodcaller("digest")

Rows = npt.NDArray[np.void]
Ints = npt.NDArray[np.int64]


class DrawError(Invalid):
    code = "selection.draw_invalid"
    title = "The draw inputs are inconsistent"


@dataclass(frozen=True)
class DrawSpec:
    """Everything the draw reads besides the pool; all of it is published in the params file."""

    seed: bytes
    wave_id: int
    quotas: Mapping[str, int]
    priority_quota: int = 0
    kk_cap: int = 2
    inclusion_tickets: Mapping[int, int] = field(default_factory=dict)
    redistribute_unfilled: bool = False


@dataclass(frozen=True)
class DrawResult:
    """Per pool row the phase that drew it (0 none, 1 priority, 2 cell quota, 3 redistributed)."""

    phase: npt.NDArray[np.uint8]
    order: Ints  # eligible pool rows in draw order (priority tier, then rank)
    waitlist: Ints  # eligible rows not drawn, by cell code, then draw order
    cells: tuple[str, ...]
    filled: dict[str, int]  # places each cell filled in phase 2
    priority_filled: int

    @property
    def winners(self) -> npt.NDArray[np.bool_]:
        return self.phase > 0


def cell_code_int(code: str) -> int:
    """'11.01' -> 1101, the cell number stored in the pool file."""
    return int(code[:2]) * 100 + int(code[3:])


def draw_digest(seed: bytes, wave_id: int, pid: bytes, tickets: int = 1) -> bytes:
    """D = the smallest SHA-256(seed || wave_id u32be || pid || j) over tickets j = 1..tickets."""
    head = seed + wave_id.to_bytes(4, "big") + pid
    return min(hashlib.sha256(head + bytes([j])).digest() for j in range(1, tickets + 1))


def _hash_chunk(prefix: bytes, pid_bytes: bytes, ticket: int) -> bytes:
    pids = np.frombuffer(pid_bytes, np.uint8).reshape(-1, 16)
    head = np.frombuffer(prefix, np.uint8)
    out = bytearray()
    for start in range(0, len(pids), _CHUNK):
        part = pids[start : start + _CHUNK]
        msg = np.empty((len(part), 53), np.uint8)
        msg[:, :36], msg[:, 36:52], msg[:, 52] = head, part, ticket
        # the last byte (ticket >= 1) is never NUL, so 'S53' items convert to bytes losslessly
        digests = b"".join(map(_DIGEST, map(_sha256, msg.view("S53").ravel().tolist())))
        out += np.frombuffer(digests, np.uint8).reshape(-1, 32)[:, :8].tobytes()
    return bytes(out)


def rank_prefixes(
    prefix: bytes, pids: npt.NDArray[np.uint8], ticket: int, workers: int = 2
) -> npt.NDArray[np.uint64]:
    """The first 8 bytes (big-endian uint64) of SHA-256(prefix || pid || ticket) for each pid."""
    flat = np.ascontiguousarray(pids, dtype=np.uint8).tobytes()
    n = len(flat) // 16
    if workers <= 1 or n < _PARALLEL_MIN:
        raw = _hash_chunk(prefix, flat, ticket)
    else:
        bounds = np.linspace(0, n, workers + 1).astype(int)
        jobs = [(prefix, flat[16 * a : 16 * b], ticket) for a, b in itertools.pairwise(bounds)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            raw = b"".join(pool.starmap(_hash_chunk, jobs))
    return np.frombuffer(raw, ">u8").astype(np.uint64)


def sort_ranks(
    prefix64: npt.NDArray[np.uint64], full_key: Callable[[int], tuple[bytes, bytes]]
) -> Ints:
    """Indices by prefix64; runs of equal prefixes are ordered by full_key(i) = (D, pid)."""
    order = np.argsort(prefix64, kind="stable").astype(np.int64)
    ranked = prefix64[order]
    equal = np.flatnonzero(ranked[1:] == ranked[:-1])
    if equal.size == 0:
        return order
    starts = equal[np.r_[True, np.diff(equal) > 1]]
    for start in starts.tolist():
        stop = start + 1
        while stop < len(ranked) and ranked[stop] == ranked[start]:
            stop += 1
        order[start:stop] = sorted(order[start:stop].tolist(), key=full_key)
    return order


def ticket_counts(flags: npt.NDArray[np.uint8], extra: Mapping[int, int]) -> Ints:
    """1 + the extra tickets of every inclusion flag bit set on the applicant."""
    tickets = np.ones(len(flags), np.int64)
    for bit, more in extra.items():
        tickets += ((flags >> np.uint8(bit)) & 1).astype(np.int64) * more
    return tickets


def rank_order(
    seed: bytes, wave_id: int, pids: npt.NDArray[np.uint8], tickets: Ints, workers: int = 2
) -> Ints:
    """Row indices in ascending draw digest D, then ascending pseudonym."""
    prefix = seed + wave_id.to_bytes(4, "big")
    ranks = rank_prefixes(prefix, pids, 1, workers)
    for ticket in range(2, int(tickets.max(initial=1)) + 1):
        idx = np.flatnonzero(tickets >= ticket)
        ranks[idx] = np.minimum(ranks[idx], rank_prefixes(prefix, pids[idx], ticket, workers))

    def full_key(i: int) -> tuple[bytes, bytes]:
        pid = bytes(pids[i])
        return draw_digest(seed, wave_id, pid, int(tickets[i])), pid

    return sort_ranks(ranks, full_key)


def sort_pairs(words: npt.NDArray[np.uint64]) -> Ints:
    """Row order of (w0, w1) uint64 pairs, ascending (equal pairs keep their row order)."""
    w0, w1 = words[:, 0], words[:, 1]
    order = np.argsort(w0, kind="stable")
    a0, a1 = w0[order], w1[order]
    if np.any((a0[1:] == a0[:-1]) & (a1[1:] != a1[:-1])):  # rare: w0 alone does not decide
        order = np.lexsort((w1, w0))
    return order.astype(np.int64)


def pair_words(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """16-byte values as (n, 2) big-endian uint64 words, so they sort like the bytes."""
    return np.ascontiguousarray(data, dtype=np.uint8).view(">u8").reshape(-1, 2).astype(np.uint64)


def kk_groups(kk: npt.NDArray[np.uint8]) -> tuple[Ints, Ints]:
    """A dense group number per row (same 16-byte KK, same group), and the rows in group order."""
    words = pair_words(kk)
    order = sort_pairs(words)
    a = words[order]
    new = np.ones(len(order), bool)
    new[1:] = np.any(a[1:] != a[:-1], axis=1)
    groups = np.empty(len(order), np.int64)
    groups[order] = np.cumsum(new) - 1
    return groups, order


def _within_group(group: Ints, values: Ints) -> tuple[Ints, Ints]:
    """Stable order by group, and the inclusive running sum of values inside each group."""
    if len(group) == 0:
        return group, values[:0]
    if group.max() == group.min():
        sidx = np.arange(len(group))
    else:  # a 16-bit key lets numpy use its radix sort
        small = group.astype(np.uint16) if group.max() < 2**16 else group
        sidx = np.argsort(small, kind="stable")
    gs, vs = group[sidx], values[sidx]
    total = np.cumsum(vs)
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    lengths = np.diff(np.r_[starts, len(gs)])
    base = np.repeat(total[starts] - vs[starts], lengths)
    return sidx, total - base


def fill(group: Ints, caps: Ints, kk: Ints, kk_left: Ints) -> npt.NDArray[np.bool_]:
    """Who is taken when candidates (in processing order) fill their groups under the KK cap.

    Equal to the sequential rule: take a candidate iff its group has room and its KK has places
    left, then decrement both. Only candidates of KKs with more candidates than places left need
    the sequential scan; everyone else is decided by running counts.
    """
    live = np.flatnonzero(kk_left[kk] > 0)
    g, k = group[live], kk[live]
    contested = np.bincount(k, minlength=len(kk_left))[k] > kk_left[k]
    sidx, seen = _within_group(g, (~contested).astype(np.int64))
    before = np.empty_like(seen)
    before[sidx] = seen - (~contested[sidx]).astype(np.int64)  # free candidates ahead in group
    ok = ~contested
    todo = np.flatnonzero(contested & (before < caps[g]))  # others meet a full group
    left = {kid: int(kk_left[kid]) for kid in np.unique(k[todo]).tolist()}
    taken = [0] * len(caps)
    cap_list = caps.tolist()
    for i, gi, ki, ahead in zip(
        todo.tolist(), g[todo].tolist(), k[todo].tolist(), before[todo].tolist(), strict=True
    ):
        if left[ki] > 0 and ahead + taken[gi] < cap_list[gi]:
            left[ki] -= 1
            taken[gi] += 1
            ok[i] = True
    sidx, count = _within_group(g, ok.astype(np.int64))
    accepted = np.zeros(len(group), bool)
    keep = ok[sidx] & (count <= caps[g[sidx]])
    accepted[live[sidx[keep]]] = True
    return accepted


def _check_spec(spec: DrawSpec) -> None:
    if len(spec.seed) != 32:
        raise DrawError("the seed must be 32 bytes")
    if not 0 <= spec.wave_id < 2**32:
        raise DrawError("the wave id must fit in 32 bits")
    if any(not CELL_CODE.match(code) for code in spec.quotas):
        raise DrawError("a quota names no kabupaten/kota code")
    if spec.kk_cap < 0 or spec.priority_quota < 0 or min(spec.quotas.values(), default=0) < 0:
        raise DrawError("quotas and the KK cap must not be negative")
    if any(not 0 <= b <= 7 or m < 0 for b, m in spec.inclusion_tickets.items()):
        raise DrawError("inclusion tickets need a flag bit 0-7 and a non-negative count")
    if 1 + sum(spec.inclusion_tickets.values()) > 255:
        raise DrawError("an applicant may hold at most 255 tickets")
    if spec.redistribute_unfilled is not False and spec.redistribute_unfilled is not True:
        raise DrawError("redistribute_unfilled must be a boolean")


def _cell_index(rows: Rows, cells: list[str]) -> Ints:
    codes = np.array([cell_code_int(c) for c in cells], np.int64)
    cell = rows["cell"].astype(np.int64)
    idx = np.clip(np.searchsorted(codes, cell), 0, max(len(codes) - 1, 0))
    if len(cell) and (not len(codes) or np.any(codes[idx] != cell)):
        raise DrawError("the pool holds an applicant of a region that has no quota")
    return idx.astype(np.int64)


def _kk_allowance(groups: Ints, order: Ints, prior: npt.NDArray[np.uint8], cap: int) -> Ints:
    """Places each KK may still take: max(cap - prior, 0); all its rows must agree on prior."""
    if len(order) == 0:
        return np.zeros(0, np.int64)
    sorted_prior = prior[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]])
    high = np.maximum.reduceat(sorted_prior, starts)
    if np.any(np.minimum.reduceat(sorted_prior, starts) != high):
        raise DrawError("rows of one KK disagree on its prior recipients")
    allowance: Ints = np.maximum(cap - high, 0).astype(np.int64)
    return allowance


def draw(rows: Rows, spec: DrawSpec, workers: int = 2) -> DrawResult:
    """Run the three phases of docs/selection-algorithm.md over the pool rows."""
    _check_spec(spec)
    cells = sorted(spec.quotas)
    all_cells = _cell_index(rows, cells)
    if np.any(rows["tier"] == NO_TIER):
        raise DrawError("priority tier 255 is reserved")
    elig = np.flatnonzero(rows["status"] == 0)
    sub, cell = rows[elig], all_cells[elig]
    tickets = ticket_counts(sub["flags"], spec.inclusion_tickets)
    by_rank = rank_order(spec.seed, spec.wave_id, sub["pid"], tickets, workers)
    tier_key = np.where(sub["tier"] == 0, NO_TIER, sub["tier"]).astype(np.uint8)
    order = by_rank[np.argsort(tier_key[by_rank], kind="stable")]
    kk, kk_order = kk_groups(sub["kk"])
    kk_left = _kk_allowance(kk, kk_order, sub["kk_prior"], spec.kk_cap)
    phase = np.zeros(len(sub), np.uint8)

    def run(number: int, cand: Ints, group: Ints, caps: Ints) -> int:
        chosen = cand[fill(group, caps, kk[cand], kk_left)]
        phase[chosen] = number
        kk_left[:] -= np.bincount(kk[chosen], minlength=len(kk_left))
        return len(chosen)

    pri = order[tier_key[order] != NO_TIER]
    got1 = run(1, pri, np.zeros(len(pri), np.int64), np.array([spec.priority_quota]))
    rest = order[phase[order] == 0]
    quotas = np.array([spec.quotas[c] for c in cells], np.int64)
    run(2, rest, cell[rest], quotas)
    filled = np.bincount(cell[phase == 2], minlength=len(cells))
    if spec.redistribute_unfilled:
        spare = spec.priority_quota - got1 + int((quotas - filled).sum())
        rest = order[phase[order] == 0]
        run(3, rest, np.zeros(len(rest), np.int64), np.array([spare]))
    waiting = order[phase[order] == 0]
    waiting = waiting[np.argsort(cell[waiting].astype(np.uint16), kind="stable")]
    full = np.zeros(len(rows), np.uint8)
    full[elig] = phase
    return DrawResult(
        phase=full,
        order=elig[order],
        waitlist=elig[waiting],
        cells=tuple(cells),
        filled=dict(zip(cells, filled.tolist(), strict=True)),
        priority_filled=got1,
    )


def winners_sha256(rows: Rows, result: DrawResult) -> str:
    """SHA-256 of the winners' 16-byte pseudonyms, ascending (pool order), concatenated."""
    return hashlib.sha256(np.ascontiguousarray(rows["pid"][result.winners]).tobytes()).hexdigest()


def waitlist_sha256(rows: Rows, result: DrawResult) -> str:
    """SHA-256 of (cell u16be || pseudonym) records of the waitlist, in waitlist order."""
    part = rows[result.waitlist]
    rec = np.empty((len(part), 18), np.uint8)
    rec[:, :2] = part["cell"].astype(">u2").view(np.uint8).reshape(-1, 2)
    rec[:, 2:] = part["pid"]
    return hashlib.sha256(rec.tobytes()).hexdigest()
