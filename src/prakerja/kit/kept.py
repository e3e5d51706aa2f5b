"""Figures a public page shows to everyone, computed at most once per `ttl_s` per key in each
process instead of once per view (the public wave page's counts, the "you said, we fixed"
page's top topics: aggregates over millions of rows that do not need to be to-the-second).

Put whatever makes a value stale at once in the key (a wave's `updated_at`); the time limit
bounds everything else. One computation at a time per kept set: while it runs, a caller that
holds an older copy of the same key takes it instead of queueing; a caller with none waits and
finds it done. Nothing is shared between processes: N web processes compute N times per
period, which is the point (no cache server to run).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_ALL: list[Kept[object]] = []


class Kept(Generic[V]):
    def __init__(self, ttl_s: float, *, size: int = 64) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._values: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]  # only forget_all() reads the list

    def _fresh(self, key: Hashable) -> tuple[float, V] | None:
        hit = self._values.get(key)
        return hit if hit is not None and time.monotonic() - hit[0] < self.ttl_s else None

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The kept value of `key`, computed by `compute()` when there is none fresh."""
        if (fresh := self._fresh(key)) is not None:
            return fresh[1]
        old = self._values.get(key)
        if old is not None and not self._lock.acquire(blocking=False):
            return old[1]  # another caller is computing it: the last copy meanwhile
        if old is None:
            self._lock.acquire()
        try:
            if (fresh := self._fresh(key)) is not None:
                return fresh[1]
            value = compute()
            self._values[key] = (time.monotonic(), value)
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
            return value
        finally:
            self._lock.release()

    def put_stale(self, key: Hashable, value: V) -> None:
        """Keep `value` as an expired copy (tests: what a caller meets mid-refresh)."""
        self._values[key] = (time.monotonic() - self.ttl_s - 1, value)

    def forget(self) -> None:
        with self._lock:
            self._values.clear()


def forget_all() -> None:
    """Drop every kept value of every set (tests, between databases that reuse ids)."""
    for kept in _ALL:
        kept.forget()
