"""Calls released at the same moment from threads, for tests of races and counters."""

from __future__ import annotations

import threading
from collections.abc import Callable

from prakerja.kit.errors import DomainError


def at_once(calls: list[Callable[[], object]]) -> list[str]:
    """Run every call on its own thread, all released together. Each outcome is 'ok', the
    code of the DomainError it raised, or the class name of anything else it raised, so a
    deadlock or a lost update fails the test instead of vanishing."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            call()
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes
