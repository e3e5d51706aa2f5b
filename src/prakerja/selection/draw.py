"""The verifiable draw: SHA-256 ranks, priority tiers, cell quotas and the KK cap, vectorised.

Pure: the same pool rows and `DrawSpec` always give the same `DrawResult`; docs/
selection-algorithm.md is the normative description, and tests compare this module with a
plain sequential re-implementation of that text. Cost: one SHA-256 per eligible row and ticket,
hashed by forked workers while this process groups the KKs, then a few sorts of packed uint64
keys (`np.sort` is vectorised, `argsort` is not) and linear passes.
"""

from __future__ import annotations

import hashlib
import itertools
import mmap
import multiprocessing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

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
_CHUNK = 1 << 16
_PARALLEL_MIN = 200_000
_FIRST_BLOCK = 1 << 16  # candidates of the first block of a phase (at least)

Rows = npt.NDArray[np.void]
Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]
Mask = npt.NDArray[np.bool_]
Small = npt.NDArray[np.uint8]


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


def take16(values: npt.NDArray[np.uint8], index: Ints) -> npt.NDArray[np.uint8]:
    """values[index] for (n, 16) bytes (e.g. a pool field), moved as 16-byte items: faster."""
    return values.view("V16")[:, 0][index].view(np.uint8).reshape(-1, 16)


def _prefixes(head: bytes, pids: npt.NDArray[np.uint8], ticket: int) -> Words:
    """First 8 bytes (big-endian) of SHA-256(head || pid || ticket) per 16-byte pid."""
    msg = np.empty((len(pids), 53), np.uint8)
    msg[:, :36], msg[:, 36:52], msg[:, 52] = np.frombuffer(head, np.uint8), pids, ticket
    sha = _sha256  # the last byte (ticket >= 1) is never NUL, so 'S53' items keep all 53 bytes
    raw = b"".join([sha(m).digest() for m in msg.view("S53").ravel().tolist()])
    return np.frombuffer(raw, ">u8").reshape(-1, 4)[:, 0].astype(np.uint64)


def _hash_range(job: _HashJob, lo: int, hi: int) -> None:
    """job.out[lo:hi] = the smallest prefix over each row's tickets first..tickets[i]."""
    for start in range(lo, hi, _CHUNK):
        stop = min(start + _CHUNK, hi)
        pids = take16(job.pids, job.rows[start:stop])
        best = _prefixes(job.head, pids, job.first)
        more = job.tickets[start:stop]
        for ticket in range(job.first + 1, int(more.max(initial=0)) + 1):
            some = np.flatnonzero(more >= ticket)
            best[some] = np.minimum(best[some], _prefixes(job.head, pids[some], ticket))
        job.out[start:stop] = best


@dataclass
class _HashJob:
    head: bytes  # seed || u32be(wave_id)
    pids: npt.NDArray[np.uint8]  # (N, 16), may be a strided view of the pool rows
    rows: Ints  # which pids to hash
    tickets: npt.NDArray[np.uint8]  # per hashed row: its last ticket
    first: int  # the first ticket
    out: Words = field(init=False)


class _Hashing:
    """Digest prefixes computed by forked workers (into shared memory) while the caller works."""

    def __init__(self, job: _HashJob, workers: int) -> None:
        n = len(job.rows)
        self._shared = mmap.mmap(-1, 8 * max(n, 1))  # MAP_SHARED: the workers write here
        job.out = np.frombuffer(self._shared, np.uint64, count=n)
        self.job, self._procs = job, list[Any]()
        if workers <= 1 or n < _PARALLEL_MIN:
            _hash_range(job, 0, n)
            return
        fork = multiprocessing.get_context("fork")
        bounds = np.linspace(0, n, workers + 1).astype(int).tolist()
        for lo, hi in itertools.pairwise(bounds):
            self._procs.append(fork.Process(target=_hash_range, args=(job, lo, hi), daemon=True))
            self._procs[-1].start()

    def __enter__(self) -> _Hashing:
        return self

    def result(self) -> Words:
        """Wait for the workers; a copy of the prefixes."""
        for proc in self._procs:
            proc.join()
        if any(proc.exitcode != 0 for proc in self._procs):
            raise RuntimeError("a hashing worker of the draw failed")
        return np.array(self.job.out)

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()


def rank_prefixes(
    prefix: bytes, pids: npt.NDArray[np.uint8], ticket: int, workers: int = 2
) -> Words:
    """The first 8 bytes (big-endian uint64) of SHA-256(prefix || pid || ticket) for each pid."""
    rows = np.arange(len(pids), dtype=np.int64)
    job = _HashJob(prefix, np.asarray(pids, np.uint8), rows, np.zeros(len(pids), np.uint8), ticket)
    with _Hashing(job, workers) as hashing:
        return hashing.result()


def ticket_counts(flags: npt.NDArray[np.uint8], extra: Mapping[int, int]) -> Small:
    """1 + the extra tickets of every inclusion flag bit set on the applicant (at most 255)."""
    tickets = np.ones(len(flags), np.uint8)
    for bit, more in extra.items():
        tickets += ((flags >> np.uint8(bit)) & np.uint8(1)) * np.uint8(more)
    return tickets


def _index_bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


def _packed_sort(high: Words, bits: int) -> Words:
    """Sorted (high << bits | index) keys: index order by (high, index); high < 2**(64-bits)."""
    key = high << np.uint64(bits)
    key |= np.arange(len(high), dtype=np.uint64)
    key.sort()  # numpy's sort is vectorised, its argsort is not: sort packed keys instead
    return key


def _pack(high: Ints, low: Ints, bits: int) -> Words:
    return high.astype(np.uint64) << np.uint64(bits) | low.astype(np.uint64)


def _low(key: Words, bits: int) -> Ints:
    return (key & np.uint64((1 << bits) - 1)).astype(np.int64)


def _tied_runs(same: Mask, at: Ints) -> list[tuple[int, int]]:
    """(start, stop) of the runs of equal neighbours (same[i]: i+1 equals i) holding pairs `at`."""
    if at.size == 0:
        return []
    first = np.ones(len(same) + 1, bool)
    first[1:] = ~same
    starts = np.flatnonzero(first)
    stops = np.r_[starts[1:], len(first)]
    runs = np.unique(np.searchsorted(starts, at, side="right") - 1)
    return list(zip(starts[runs].tolist(), stops[runs].tolist(), strict=True))


def sort_ranks(
    prefix64: Words, full_key: Callable[[int], tuple[bytes, bytes]], tier: Any = None
) -> Ints:
    """Indices by (tier, prefix64); runs of equal keys are ordered by full_key(i) = (D, pid)."""
    n = len(prefix64)
    tier = np.zeros(n, np.uint8) if tier is None else tier
    levels = np.flatnonzero(np.bincount(tier, minlength=256))
    dense = np.zeros(256, np.uint64)
    dense[levels] = np.arange(len(levels), dtype=np.uint64)
    bits = _index_bits(n)
    kept = 64 - bits - (len(levels) - 1).bit_length()  # leading prefix bits in the packed key
    key = _packed_sort(dense[tier] << np.uint64(kept) | prefix64 >> np.uint64(64 - kept), bits)
    order, high = _low(key, bits), key >> np.uint64(bits)
    same = high[1:] == high[:-1]
    for start, stop in _tied_runs(same, np.flatnonzero(same)):  # decide on all 64 bits, then D
        run = sorted(order[start:stop].tolist(), key=lambda i: int(prefix64[i]))
        parts = [list(p) for _, p in itertools.groupby(run, key=lambda i: int(prefix64[i]))]
        order[start:stop] = [i for p in parts for i in (sorted(p, key=full_key) if p[1:] else p)]
    return order


def _pair_runs(words: Words) -> tuple[Ints, Ints]:
    """Rows by (w0, w1, row), and the positions p where rows p and p+1 hold equal words."""
    bits = _index_bits(len(words))
    key = _packed_sort(words[:, 0] >> np.uint64(bits), bits)
    order, high = _low(key, bits), key >> np.uint64(bits)
    tie = np.flatnonzero(high[1:] == high[:-1])  # equal leading bits of w0: maybe equal words
    w0, w1 = words[:, 0], words[:, 1]

    def equal() -> Mask:
        a, b = order[tie], order[tie + 1]
        same: Mask = (w0[a] == w0[b]) & (w1[a] == w1[b])
        return same

    same = equal()
    if not np.all(same):  # rare: different words share leading bits, sort those runs fully
        tied = np.zeros(max(len(words) - 1, 0), bool)
        tied[tie] = True
        for start, stop in _tied_runs(tied, tie[~same]):
            run = order[start:stop]
            order[start:stop] = run[np.lexsort((run, w1[run], w0[run]))]
        same = equal()
    return order, tie[same]


def sort_pairs(words: Words) -> Ints:
    """Row order of (w0, w1) uint64 pairs, ascending (equal pairs keep their row order)."""
    return _pair_runs(np.asarray(words, np.uint64))[0]


def pair_words(data: npt.NDArray[np.uint8]) -> Words:
    """16-byte values as (n, 2) big-endian uint64 words, so they sort like the bytes."""
    return np.ascontiguousarray(data, dtype=np.uint8).view(">u8").reshape(-1, 2).astype(np.uint64)


def _kk_runs(kk: npt.NDArray[np.uint8]) -> tuple[Ints, Ints]:
    """Rows with equal 16-byte KKs next to each other, and the positions p where p+1 is the
    same KK (native byte order: the grouping, not its order, matters)."""
    return _pair_runs(np.ascontiguousarray(kk, dtype=np.uint8).view(np.uint64).reshape(-1, 2))


def kk_groups(kk: npt.NDArray[np.uint8]) -> tuple[Ints, Ints]:
    """A dense group number per row (same 16-byte KK, same group), and the rows in group order."""
    order, same = _kk_runs(kk)
    first = np.ones(len(order), bool)
    first[same + 1] = False
    groups = np.empty(len(order), np.int64)
    groups[order] = np.cumsum(first) - 1
    return groups, order


@dataclass
class _Kin:
    """The KK cap state: `kk` numbers the rows of KKs with 2+ eligible rows (else -1), `left`
    holds the places each such KK may still take, `alive` whether a lone row's KK may take one."""

    kk: npt.NDArray[np.int32]
    left: Ints
    alive: Mask


def _kin(kk: npt.NDArray[np.uint8], prior: Small, cap: int) -> _Kin:
    """Group the rows by KK; all rows of a KK must agree on its prior recipients."""
    order, same = _kk_runs(kk)
    if np.any(prior[order[same]] != prior[order[same + 1]]):
        raise DrawError("rows of one KK disagree on its prior recipients")
    member, joined = np.zeros(len(order), bool), np.zeros(len(order), bool)
    member[same], member[same + 1], joined[same + 1] = True, True, True
    at = np.flatnonzero(member)  # sorted positions of rows whose KK has other rows
    opens = ~joined[at]
    number = np.full(len(order), -1, np.int32)
    number[order[at]] = np.cumsum(opens) - 1
    left = np.maximum(cap - prior[order[at[opens]]].astype(np.int64), 0)
    return _Kin(number, left, prior < cap)


def _group_counts(flag: Mask, first: Mask) -> Ints:
    """Inclusive running count of flag inside each run that starts where first is True."""
    total = np.cumsum(flag)
    start = np.flatnonzero(first)
    return total - np.repeat(total[start] - flag[start], np.diff(np.r_[start, len(flag)]))


def _crowded(pos: Ints, kk: npt.NDArray[np.int32], cell: Ints | None, kin: _Kin, ok: Mask) -> Ints:
    """For KKs with more candidates than places: inside one group only the first `left` can win
    (ok is set for them); the positions of KKs spread over groups are returned to be scanned."""
    bits = _index_bits(len(pos))
    key = _packed_sort(kk.astype(np.uint64), bits)
    order, high = _low(key, bits), (key >> np.uint64(bits)).astype(np.int64)
    first = np.ones(len(order), bool)
    first[1:] = high[1:] != high[:-1]
    rank = _group_counts(np.ones(len(order), bool), first) - 1
    spread = np.zeros(len(order), bool)
    if cell is not None and len(order):
        at, sizes = np.flatnonzero(first), np.diff(np.r_[np.flatnonzero(first), len(order)])
        where = cell[pos[order]]
        low, top = np.minimum.reduceat(where, at), np.maximum.reduceat(where, at)
        spread = np.repeat(low != top, sizes)
    ok[pos[order[~spread & (rank < kin.left[high])]]] = True
    return np.sort(pos[order[spread]])


def _scan(
    todo: Ints, cell: Ints, caps: Ints, kk: npt.NDArray[np.int32], left: Ints, ahead: Ints
) -> list[int]:
    """The rows of spread KKs that win, decided one by one in draw order (the sequential rule);
    ahead[i] = candidates of todo[i]'s cell ahead of it that win if their cell has room."""
    places = {k: int(left[k]) for k in set(kk.tolist())}
    taken, cap, won = [0] * len(caps), caps.tolist(), []
    rows = zip(todo.tolist(), cell.tolist(), kk.tolist(), ahead.tolist(), strict=True)
    for i, g, k, before in rows:
        if places[k] > 0 and before + taken[g] < cap[g]:
            places[k] -= 1
            taken[g] += 1
            won.append(i)
    return won


def fill(cand: Ints, cell: Ints | None, caps: Ints, kin: _Kin) -> Mask:
    """Who wins when candidates (rows in draw order) fill their cells under the KK cap.

    Equal to the sequential rule: take a candidate iff its cell (None: one group) has room and
    its KK has places left. Only KKs with more candidates than places need care, and only those
    spread over several cells need a sequential scan.
    """
    kk = kin.kk[cand]
    ok = (kk < 0) & kin.alive[cand]
    pos = np.flatnonzero(kk >= 0)
    pos = pos[kin.left[kk[pos]] > 0]
    crowded = np.bincount(kk[pos], minlength=len(kin.left))[kk[pos]] > kin.left[kk[pos]]
    ok[pos[~crowded]] = True
    where = None if cell is None else cell[cand]
    todo = _crowded(pos[crowded], kk[pos[crowded]], where, kin, ok)
    if where is None:
        first_ones: Mask = ok & (np.cumsum(ok) <= caps[0])
        return first_ones
    bits = _index_bits(len(cand))
    by_cell = _packed_sort(where.astype(np.uint64), bits)
    order, high = _low(by_cell, bits), (by_cell >> np.uint64(bits)).astype(np.int64)
    first = np.ones(len(order), bool)
    first[1:] = high[1:] != high[:-1]
    if todo.size:
        at = np.searchsorted(by_cell, _pack(where[todo], todo, bits))
        ahead = _group_counts(ok[order], first)[at]
        ok[_scan(todo, where[todo], caps, kk[todo], kin.left, ahead)] = True
    won = np.zeros(len(cand), bool)
    flag = ok[order]
    won[order[flag & (_group_counts(flag, first) <= caps[high])]] = True
    return won


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
    """Per row the position of its cell in `cells` (sorted codes); unknown cells are refused."""
    lookup = np.full(1 << 16, -1, np.int64)
    lookup[[cell_code_int(c) for c in cells]] = np.arange(len(cells))
    index: Ints = lookup[rows["cell"]]
    if np.any(index < 0):
        raise DrawError("the pool holds an applicant of a region that has no quota")
    return index


def _fill_blocks(
    number: int, cand: Ints, cell: Ints | None, caps: Ints, kin: _Kin, phase: Small
) -> Ints:
    """Run one phase over growing blocks of the candidates, dropping those of full cells, until
    no room is left; the rule is online, so this equals one pass. Places taken per cell."""
    room = caps.copy()
    start, size = 0, max(_FIRST_BLOCK, 2 * int(room.sum()))
    while start < len(cand) and room.sum() > 0:
        block = cand[start : start + size]
        start, size = start + size, 2 * size
        if cell is not None:
            block = block[room[cell[block]] > 0]
        won = block[fill(block, cell, room, kin)]
        phase[won] = number
        many = kin.kk[won]
        kin.left -= np.bincount(many[many >= 0], minlength=len(kin.left))
        room -= np.bincount(cell[won], minlength=len(room)) if cell is not None else len(won)
    return caps - room


def _phases(npri: int, cell: Ints, spec: DrawSpec, kin: _Kin) -> tuple[Any, ...]:
    """Per draw position its phase, the waitlist (positions), places filled per cell in phase 2,
    and the phase 1 winners; cell and kin are given per draw position too."""
    phase = np.zeros(len(cell), np.uint8)
    pri = np.array([spec.priority_quota])
    got1 = int(_fill_blocks(1, np.arange(npri), None, pri, kin, phase)[0])
    quotas = np.array([spec.quotas[c] for c in sorted(spec.quotas)], np.int64)
    filled = _fill_blocks(2, np.flatnonzero(phase == 0), cell, quotas, kin, phase)
    if spec.redistribute_unfilled:
        spare = np.array([spec.priority_quota - got1 + int((quotas - filled).sum())])
        _fill_blocks(3, np.flatnonzero(phase == 0), None, spare, kin, phase)
    waiting = np.flatnonzero(phase == 0)
    bits = _index_bits(len(waiting))
    by_cell = _packed_sort(cell[waiting].astype(np.uint64), bits)
    return phase, waiting[_low(by_cell, bits)], filled, got1


def draw(rows: Rows, spec: DrawSpec, workers: int = 2) -> DrawResult:
    """Run the three phases of docs/selection-algorithm.md over the pool rows."""
    _check_spec(spec)
    cells = sorted(spec.quotas)
    all_cells = _cell_index(rows, cells)
    tier = rows["tier"]
    if np.any(tier == NO_TIER):
        raise DrawError("priority tier 255 is reserved")
    elig = np.flatnonzero(rows["status"] == 0)
    tickets = ticket_counts(rows["flags"][elig], spec.inclusion_tickets)
    head = spec.seed + spec.wave_id.to_bytes(4, "big")
    with _Hashing(_HashJob(head, rows["pid"], elig, tickets, 1), workers) as hashing:
        kin = _kin(take16(rows["kk"], elig), rows["kk_prior"][elig], spec.kk_cap)  # while they hash
        cell, tier = all_cells[elig], tier[elig]
        tier_key = np.where(tier == 0, NO_TIER, tier).astype(np.uint8)
        prefix = hashing.result()

    def full_key(i: int) -> tuple[bytes, bytes]:
        pid = bytes(rows["pid"][elig[i]])
        return draw_digest(spec.seed, spec.wave_id, pid, int(tickets[i])), pid

    order = sort_ranks(prefix, full_key, tier_key)  # from here on, work by draw position
    ranked = _Kin(kin.kk[order], kin.left, kin.alive[order])
    phase, waiting, filled, got1 = _phases(int(np.count_nonzero(tier)), cell[order], spec, ranked)
    full = np.zeros(len(rows), np.uint8)
    drawn = elig[order]
    full[drawn] = phase
    return DrawResult(
        phase=full,
        order=drawn,
        waitlist=drawn[waiting],
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
