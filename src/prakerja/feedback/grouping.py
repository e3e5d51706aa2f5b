"""From many messages to few problems: near-duplicate groups and spikes that open incidents.

Grouping is MinHash over word and word-pair shingles of the masked text, with LSH banding, in
numpy: signatures are column minima per row segment of one (permutations x shingles) array, and
groups are connected components found by vectorised label propagation.
A group's key is "g<smallest message id>", so re-grouping a window keeps keys stable.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from prakerja.feedback.model import Incident, Message
from prakerja.feedback.service_alert import alert_operators
from prakerja.kit import audit
from prakerja.kit.errors import NotFound

PERMUTATIONS, BANDS = 48, 12  # 12 bands of 4: pairs above ~0.55 Jaccard nearly always meet
ROWS_PER_CHUNK = 8000
_WORD = re.compile(r"[a-z]{2,}")
DIMENSIONS = ("all", "region", "channel", "partner")


def shingles(text: str) -> set[int]:
    """Hashed words and word pairs of the text (letters only: masked digits drop out).

    Python's string hash is salted per process, so signatures are compared within one run only
    (a window is always re-grouped as a whole)."""
    words = _WORD.findall(text[:2000].lower())
    return {hash(w) for w in words} | {hash(p) for p in itertools.pairwise(words)}


def signatures(texts: Sequence[str], seed: int = 42) -> np.ndarray:
    """MinHash signatures (n x PERMUTATIONS); a text without shingles gets a unique one.

    The permutations are multiply-shift hashes on uint64 (wrapping), so no modulo is needed."""
    rng = np.random.default_rng(seed)
    a = (rng.integers(1, 1 << 62, PERMUTATIONS, dtype=np.int64).astype(np.uint64) * 2 + 1)[:, None]
    b = rng.integers(0, 1 << 62, PERMUTATIONS, dtype=np.int64).astype(np.uint64)[:, None]
    out = np.empty((len(texts), PERMUTATIONS), dtype=np.uint64)
    for start in range(0, len(texts), ROWS_PER_CHUNK):
        sets = [shingles(t) for t in texts[start : start + ROWS_PER_CHUNK]]
        lengths = np.fromiter((len(x) for x in sets), dtype=np.int64, count=len(sets))
        flat = np.fromiter(
            (h for x in sets for h in x), dtype=np.int64, count=int(lengths.sum())
        ).astype(np.uint64)
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        sig = np.empty((len(sets), PERMUTATIONS), dtype=np.uint64)
        rows = np.flatnonzero(lengths)
        if rows.size:
            hashed = (a * flat[None, :] + b) >> np.uint64(20)
            sig[rows] = np.minimum.reduceat(hashed, indptr[rows], axis=1).T
        empty = np.flatnonzero(lengths == 0)
        sig[empty] = (np.uint64(1) << np.uint64(63)) + (start + empty[:, None]).astype(np.uint64)
        out[start : start + len(sets)] = sig
    return out


def _band_buckets(sig: np.ndarray) -> list[np.ndarray]:
    width = PERMUTATIONS // BANDS
    buckets = []
    for band in range(BANDS):
        block = sig[:, band * width : (band + 1) * width]
        key = np.zeros(sig.shape[0], dtype=np.uint64)
        for col in range(width):
            key = key * np.uint64(1_000_003) + block[:, col]  # wraps; collisions are negligible
        buckets.append(np.unique(key, return_inverse=True)[1].ravel())
    return buckets


def components(sig: np.ndarray) -> np.ndarray:
    """For each row, the smallest row index in its group (rows sharing any band, transitively)."""
    n = sig.shape[0]
    label = np.arange(n)
    buckets = _band_buckets(sig)
    for _ in range(64):
        new = label.copy()
        for inv in buckets:
            lead = np.full(inv.max() + 1 if n else 0, n, dtype=np.int64)
            np.minimum.at(lead, inv, label)
            np.minimum(new, lead[inv], out=new)
        new = new[new]  # pointer jumping speeds up long chains
        if np.array_equal(new, label):
            break
        label = new
    return label


def group_keys(ids: Sequence[int], texts: Sequence[str]) -> list[str | None]:
    """'g<smallest id>' for texts that have a near-duplicate, None for texts that stand alone."""
    if not ids:
        return []
    order = np.argsort(np.asarray(ids))
    sorted_ids = np.asarray(ids)[order]
    label = components(signatures([texts[i] for i in order]))
    sizes = np.bincount(label, minlength=len(label))
    keys: list[str | None] = [None] * len(ids)
    for pos, original in enumerate(order):
        if sizes[label[pos]] > 1:
            keys[original] = f"g{sorted_ids[label[pos]]}"
    return keys


def regroup(session: Session, *, now: dt.datetime, hours: int = 24) -> dict[str, int]:
    """Recompute the group keys of the last `hours` of messages; writes only changed keys."""
    since = now - dt.timedelta(hours=hours)
    rows = session.execute(
        select(Message.id, Message.body_masked, Message.group_key).where(
            Message.received_at >= since, Message.received_at <= now
        )
    ).all()
    keys = group_keys([r.id for r in rows], [r.body_masked for r in rows])
    changes = [
        {"id": r.id, "group_key": k} for r, k in zip(rows, keys, strict=True) if r.group_key != k
    ]
    if changes:
        session.execute(update(Message), changes)
    return {
        "messages": len(rows),
        "grouped": sum(k is not None for k in keys),
        "groups": len({k for k in keys if k}),
        "changed": len(changes),
    }


# --- spikes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spike:
    """One slice whose last hour is well above the same hour a week before."""

    topic: str
    dimension: str
    value: str
    current: int
    baseline: int


def is_spike(current: int, baseline: int, *, ratio: float, floor: int) -> bool:
    """At least `floor` messages and at least `ratio` times last week's (a zero week counts 1)."""
    return current >= floor and current >= ratio * max(baseline, 1)


def find_spikes(
    counts: dict[tuple[str, str, str], tuple[int, int]], *, ratio: float = 3.0, floor: int = 20
) -> list[Spike]:
    """Spikes among (topic, dimension, value) -> (current, baseline) counts, biggest first."""
    found = [
        Spike(t, d, v, c, b)
        for (t, d, v), (c, b) in counts.items()
        if is_spike(c, b, ratio=ratio, floor=floor)
    ]
    return sorted(found, key=lambda s: (-s.current, s.topic, s.dimension, s.value))


def slice_counts(
    session: Session, *, now: dt.datetime
) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(current, baseline) per topic and slice: last hour vs the same hour a week earlier."""
    hour, week = dt.timedelta(hours=1), dt.timedelta(days=7)
    in_now = and_(Message.received_at >= now - hour, Message.received_at < now)
    in_then = and_(Message.received_at >= now - week - hour, Message.received_at < now - week)
    flag = case((in_now, 1), else_=0).label("is_now")
    stmt = (
        select(Message.topic, Message.region, Message.channel, Message.partner, flag, func.count())
        .where(in_now | in_then, Message.topic.is_not(None))
        .group_by(Message.topic, Message.region, Message.channel, Message.partner, flag)
    )
    current: Counter[tuple[str, str, str]] = Counter()
    baseline: Counter[tuple[str, str, str]] = Counter()
    for topic, region, channel, partner, is_now, n in session.execute(stmt):
        target = current if is_now else baseline
        for dim, value in (
            ("all", ""),
            ("region", region),
            ("channel", channel),
            ("partner", partner),
        ):
            if value is not None:
                target[(topic, dim, value)] += n
    return {k: (current[k], baseline[k]) for k in current}


def _samples(session: Session, spike: Spike, now: dt.datetime, n: int = 5) -> list[int]:
    stmt = select(Message.id).where(
        Message.topic == spike.topic,
        Message.received_at >= now - dt.timedelta(hours=1),
        Message.received_at < now,
    )
    if spike.dimension != "all":
        stmt = stmt.where(getattr(Message, spike.dimension) == spike.value)
    return list(session.scalars(stmt.order_by(Message.received_at.desc()).limit(n)))


def detect(
    session: Session, *, now: dt.datetime, ratio: float = 3.0, floor: int = 20
) -> list[Incident]:
    """Open an incident per new spike (an open one is updated instead) and alert on-call."""
    opened: list[Incident] = []
    for spike in find_spikes(slice_counts(session, now=now), ratio=ratio, floor=floor):
        known = session.scalar(
            select(Incident).where(
                Incident.topic == spike.topic,
                Incident.dimension == spike.dimension,
                Incident.value == spike.value,
                Incident.status == "open",
            )
        )
        if known is not None:
            known.current_count = max(known.current_count, spike.current)
            continue
        incident = Incident(
            topic=spike.topic,
            dimension=spike.dimension,
            value=spike.value,
            window_start=now.replace(minute=0, second=0, microsecond=0),
            opened_at=now,
            baseline_count=spike.baseline,
            current_count=spike.current,
            status="open",
            sample_message_ids=_samples(session, spike, now),
        )
        session.add(incident)
        opened.append(incident)
    session.flush()
    if opened:
        lines = [
            f"{i.topic} [{i.dimension}={i.value or '*'}]: {i.current_count} in the last "
            f"hour vs {i.baseline_count} a week ago; samples {i.sample_message_ids}"
            for i in opened
        ]
        alert_operators(
            session,
            subject=f"[Prakerja] {len(opened)} complaint spike(s)",
            body="\n".join(lines),
            now=now,
        )
    return opened


def post_note(
    session: Session,
    *,
    incident_id: int,
    actor_id: int,
    note: str,
    now: dt.datetime,
    fixed: bool = False,
) -> Incident:
    """Publish a status note (shown on the public page); `fixed` also resolves the incident."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("no such incident")
    text = note.strip()[:2000]
    if fixed:
        incident.fix_note, incident.status, incident.resolved_at = text, "resolved", now
    else:
        incident.public_note = text
    audit.record(
        session,
        actor=f"account:{actor_id}",
        action="feedback.incident_note",
        target=f"incident:{incident.id}",
        data={"fixed": fixed},
        now=now,
    )
    session.flush()
    return incident
