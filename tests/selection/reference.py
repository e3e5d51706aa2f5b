"""A plain, sequential re-implementation of docs/selection-algorithm.md, for cross-checks."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from prakerja.selection.draw import DrawSpec


def _digest(spec: DrawSpec, pid: bytes, tickets: int) -> bytes:
    head = spec.seed + spec.wave_id.to_bytes(4, "big") + pid
    return min(hashlib.sha256(head + bytes([j])).digest() for j in range(1, tickets + 1))


def _people(rows: Any, spec: DrawSpec) -> list[dict[str, Any]]:
    """Eligible applicants with their draw-order key, in draw order."""
    people = []
    for i, row in enumerate(rows):
        if int(row["status"]) != 0:
            continue
        flags = int(row["flags"])
        tickets = 1 + sum(m for b, m in spec.inclusion_tickets.items() if flags >> b & 1)
        pid = bytes(row["pid"])
        tier = int(row["tier"])
        cell = f"{int(row['cell']) // 100:02d}.{int(row['cell']) % 100:02d}"
        people.append(
            {
                "i": i,
                "tier": tier,
                "key": (255 if tier == 0 else tier, _digest(spec, pid, tickets), pid),
                "kk": bytes(row["kk"]),
                "cell": cell,
                "allow": max(spec.kk_cap - int(row["kk_prior"]), 0),
            }
        )
    return sorted(people, key=lambda p: p["key"])


def reference_phases(rows: Any, spec: DrawSpec) -> list[int]:
    """Phase per row (0 none, 1 priority, 2 cell, 3 redistributed), one applicant at a time."""
    people = _people(rows, spec)
    phase = [0] * len(rows)
    used: Counter[bytes] = Counter()

    def take(p: dict[str, Any], number: int) -> None:
        phase[p["i"]] = number
        used[p["kk"]] += 1

    room = spec.priority_quota
    for p in people:
        if p["tier"] != 0 and room > 0 and used[p["kk"]] < p["allow"]:
            take(p, 1)
            room -= 1
    cell_room = dict(spec.quotas)
    for p in people:
        if phase[p["i"]] == 0 and cell_room[p["cell"]] > 0 and used[p["kk"]] < p["allow"]:
            take(p, 2)
            cell_room[p["cell"]] -= 1
    if spec.redistribute_unfilled:
        spare = room + sum(cell_room.values())
        for p in people:
            if phase[p["i"]] == 0 and spare > 0 and used[p["kk"]] < p["allow"]:
                take(p, 3)
                spare -= 1
    return phase
