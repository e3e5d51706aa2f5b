"""Calls to outside systems over HTTP (civil registry, face check): a keep-alive pool, one retry,
and a guard per partner so a partner in trouble cannot take the web site down with it.

A web process has a fixed number of route threads (`web_threads`). A partner call holds one for
its whole duration: a registry that hangs for the full timeout, twice, holds it for over four
seconds. Without a guard, a few requests per second to a hanging partner would occupy every
route thread of the process, and purchases, pages and dashboards would queue behind them. So
each partner (per base URL, per process) has:

- a bulkhead: at most `adapter_max_in_flight` calls at once; one more waits up to
  `adapter_slot_wait_s` for a slot (in a burst, calls end and free slots within milliseconds),
  and if none frees up it is not made and answers "no answer" (the callers then do what they
  do for a partner that is down: the registry check stays pending with a re-check job, the
  face check asks to try again);
- a circuit breaker: after `adapter_breaker_failures` failed calls in a row (every attempt timed
  out, failed to connect or got a 5xx), no call is made for `adapter_breaker_reset_s` seconds;
  then one trial call goes through, and its outcome closes the circuit or opens it again.

Any answer below 500 counts as success: the partner is up, even if it refused the request.
The breaker's state is per process, so each web or worker process finds out on its own; with N
processes a dead partner costs at most N x failures calls per reset period. No third-party
breaker is used: pybreaker 1.4 holds its lock across the protected call, which would let only
one partner call at a time through each process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
import urllib3

from prakerja.settings import get_settings

log = structlog.get_logger("prakerja.kit.partner_http")

_HEADERS = {"User-Agent": "prakerja-adapter/1", "Content-Type": "application/json"}
_pool: urllib3.PoolManager | None = None
_guards: dict[str, PartnerGuard] = {}
_lock = threading.Lock()

Entry = Literal["go", "trial"]
Refusal = Literal["busy", "open"]


@dataclass(frozen=True)
class PartnerAnswer:
    """A partner's HTTP answer: status and body (JSON read on demand)."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class PartnerGuard:
    """The bulkhead and circuit breaker of one partner in this process (thread-safe; the lock
    is held only to read and change the counters, or to wait for a slot, never across a
    call)."""

    def __init__(
        self,
        name: str,
        *,
        max_in_flight: int,
        failures_to_open: int,
        reset_s: float,
        slot_wait_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_in_flight < 1 or failures_to_open < 1 or reset_s < 0:
            raise ValueError("a partner guard needs at least one slot and one failure to open")
        self.name, self.max_in_flight = name, max_in_flight
        self.failures_to_open, self.reset_s, self._clock = failures_to_open, reset_s, clock
        self.slot_wait_s = slot_wait_s
        self._changed = threading.Condition()
        self._in_flight = 0
        self._failures = 0  # failed calls in a row
        self._opened_at: float | None = None
        self._trial_running = False

    def enter(self) -> Entry | Refusal:
        """'go' or 'trial' (the caller must call `leave` afterwards), or why no call may be
        made now: 'open' (the circuit is open) or 'busy' (every slot stayed taken for
        `slot_wait_s`: a burst frees slots within milliseconds, a slow partner does not)."""
        with self._changed:
            deadline = self._clock() + self.slot_wait_s
            while True:
                entry: Entry = "go"
                if self._opened_at is not None:
                    if self._trial_running or self._clock() - self._opened_at < self.reset_s:
                        return "open"
                    entry = "trial"
                if self._in_flight < self.max_in_flight:
                    break
                left = deadline - self._clock()
                if left <= 0:
                    return "busy"
                self._changed.wait(left)
            self._in_flight += 1
            if entry == "trial":
                self._trial_running = True
            return entry

    def leave(self, entry: Entry, *, ok: bool) -> None:
        """Record the outcome of a call `enter` let through."""
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()  # a waiter that finds the circuit open takes no slot
            if entry == "trial":
                self._trial_running = False
            if ok:
                if self._opened_at is not None:
                    log.warning("partner_circuit_closed", partner=self.name)
                self._failures, self._opened_at = 0, None
                return
            self._failures += 1
            if entry == "trial" or self._failures >= self.failures_to_open:
                if self._opened_at is None:
                    log.warning(
                        "partner_circuit_opened", partner=self.name, failures=self._failures
                    )
                self._opened_at = self._clock()

    def state(self) -> dict[str, Any]:
        """What an operator wants to know: closed or open, calls in flight, failures in a row."""
        with self._changed:
            return {
                "partner": self.name,
                "circuit": "closed" if self._opened_at is None else "open",
                "in_flight": self._in_flight,
                "failures_in_a_row": self._failures,
            }


def guard_for(base_url: str) -> PartnerGuard:
    """This process's guard for the partner at `base_url`, made from the settings on first use."""
    key = base_url.rstrip("/")
    with _lock:
        guard = _guards.get(key)
        if guard is None:
            settings = get_settings()
            guard = _guards[key] = PartnerGuard(
                key,
                max_in_flight=settings.adapter_max_in_flight,
                failures_to_open=settings.adapter_breaker_failures,
                reset_s=settings.adapter_breaker_reset_s,
                slot_wait_s=settings.adapter_slot_wait_s,
            )
        return guard


def guard_states() -> list[dict[str, Any]]:
    """The state of every partner guard this process has used."""
    with _lock:
        guards = list(_guards.values())
    return [g.state() for g in guards]


def http_pool() -> urllib3.PoolManager:
    """The process-wide keep-alive pool for partner calls (thread-safe; one pool per host)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = urllib3.PoolManager(num_pools=16, maxsize=32, retries=False)
        return _pool


def close_clients() -> None:
    """Close every pooled connection and forget every guard (process shutdown, tests)."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.clear()
        _pool = None
        _guards.clear()


def post_with_retry(
    base_url: str,
    path: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    retries: int = 1,
    backoff_s: float = 0.2,
) -> tuple[PartnerAnswer | None, int]:
    """POST JSON; (answer, attempts). Timeouts, transport errors and 5xx are retried `retries`
    times; the answer is None when every attempt failed that way, and also, with 0 attempts,
    when the partner's guard let no call through (bulkhead full or circuit open). `timeout`
    bounds the connect and each read."""
    url = base_url.rstrip("/") + path
    guard = guard_for(base_url)
    entry = guard.enter()
    if entry == "busy" or entry == "open":
        log.info("partner_call_skipped", url=url, reason=entry)
        return None, 0
    answer: PartnerAnswer | None = None
    try:
        answer, attempts = _attempts(url, payload, timeout, retries, backoff_s)
    finally:  # an exception (none expected) counts as a failed call and frees the slot
        guard.leave(entry, ok=answer is not None)
    return answer, attempts


def _attempts(
    url: str, payload: dict[str, Any], timeout: float, retries: int, backoff_s: float
) -> tuple[PartnerAnswer | None, int]:
    pool, body = http_pool(), json.dumps(payload).encode()
    for attempt in range(1, retries + 2):
        try:
            raw = pool.request(
                "POST",
                url,
                body=body,
                headers=_HEADERS,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
            )
        except urllib3.exceptions.HTTPError as exc:  # every timeout and transport failure
            log.info("partner_attempt_failed", url=url, attempt=attempt, error=type(exc).__name__)
        else:
            if raw.status < 500:
                return PartnerAnswer(raw.status, raw.data), attempt
            log.info("partner_attempt_failed", url=url, attempt=attempt, status=raw.status)
        if attempt <= retries:
            time.sleep(backoff_s * attempt)
    return None, retries + 1
