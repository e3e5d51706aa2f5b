"""Civil-registry (Dukcapil) adapter: checks NIK, KK, birth date and names over HTTP.

A partner failure never raises: a timeout, connection error or 5xx is retried once after a
short backoff, then the answer is `unavailable` so the caller can ask again later. Clients are
pooled per base URL (keep-alive), since a registration burst calls the registry constantly.
NIK and KK never reach the logs.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import structlog

from prakerja.settings import get_settings

log = structlog.get_logger("prakerja.registration.registry")

RegistryStatus = Literal["matched", "mismatch", "unavailable"]
_SIXTEEN_DIGITS = re.compile(r"^\d{16}$")
_clients: dict[str, httpx.Client] = {}
_clients_lock = threading.Lock()


def http_client(base_url: str) -> httpx.Client:
    """The process-wide keep-alive client for one partner base URL (thread-safe)."""
    key = base_url.rstrip("/")
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = httpx.Client(
                base_url=key,
                headers={"User-Agent": "prakerja-adapter/1"},
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
            _clients[key] = client
        return client


def close_clients() -> None:
    """Close every pooled client (process shutdown, tests)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def post_with_retry(
    base_url: str,
    path: str,
    payload: dict[str, Any],
    *,
    timeout: float,
    retries: int = 1,
    backoff_s: float = 0.2,
) -> tuple[httpx.Response | None, int]:
    """POST JSON; (response, attempts). Timeouts, transport errors and 5xx are retried `retries`
    times; the response is None when every attempt failed that way."""
    client = http_client(base_url)
    for attempt in range(1, retries + 2):
        try:
            response = client.post(path, json=payload, timeout=timeout)
        except httpx.TransportError as exc:  # includes every timeout
            log.info(
                "partner_attempt_failed",
                url=base_url + path,
                attempt=attempt,
                error=type(exc).__name__,
            )
        else:
            if response.status_code < 500:
                return response, attempt
            log.info(
                "partner_attempt_failed",
                url=base_url + path,
                attempt=attempt,
                status=response.status_code,
            )
        if attempt <= retries:
            time.sleep(backoff_s * attempt)
    return None, retries + 1


@dataclass(frozen=True)
class RegistryResult:
    """The registry's verdict: per-field results ('match', 'mismatch', 'not_found', ...)."""

    status: RegistryStatus
    fields: dict[str, str] = field(default_factory=dict)
    reference: str | None = None


def _check_number(label: str, value: str) -> None:
    if not _SIXTEEN_DIGITS.match(value):
        raise ValueError(f"{label} must be 16 digits")


class RegistryClient:
    """Talks to the civil registry's verify endpoint."""

    def __init__(
        self, base_url: str, timeout: float = 2.0, *, retries: int = 1, backoff_s: float = 0.2
    ) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.retries, self.backoff_s = retries, backoff_s

    def verify(
        self,
        nik: str,
        kk: str,
        birth_date: dt.date,
        name: str | None = None,
        mother_name: str | None = None,
    ) -> RegistryResult:
        """Ask whether the data matches the registry; ValueError for malformed NIK/KK (checked
        before any call), otherwise never raises."""
        _check_number("NIK", nik)
        _check_number("KK", kk)
        payload: dict[str, Any] = {"nik": nik, "kk": kk, "birth_date": birth_date.isoformat()}
        payload.update(
            {k: v for k, v in (("name", name), ("mother_name", mother_name)) if v is not None}
        )
        started = time.perf_counter()
        response, attempts = post_with_retry(
            self.base_url,
            "/v1/verify",
            payload,
            timeout=self.timeout,
            retries=self.retries,
            backoff_s=self.backoff_s,
        )
        result = _interpret(response)
        quiet = result.status != "unavailable" and attempts == 1
        (log.debug if quiet else log.info)(
            "registry_verify",
            status=result.status,
            attempts=attempts,
            reference=result.reference,
            ms=round((time.perf_counter() - started) * 1000),
        )
        return result


def _interpret(response: httpx.Response | None) -> RegistryResult:
    if response is None:
        return RegistryResult("unavailable")
    try:
        body = response.json()
        matched, fields = body["match"], body["fields"]
    except (ValueError, KeyError, TypeError):
        log.warning("registry_unexpected_answer", status=response.status_code)
        return RegistryResult("unavailable")
    if response.status_code != 200 or not isinstance(matched, bool) or not isinstance(fields, dict):
        log.warning("registry_unexpected_answer", status=response.status_code)
        return RegistryResult("unavailable")
    return RegistryResult(
        "matched" if matched else "mismatch",
        {str(k): str(v) for k, v in fields.items()},
        body.get("reference"),
    )


def registry_client() -> RegistryClient:
    """A client for the configured registry (PRAKERJA_REGISTRY_URL, PRAKERJA_ADAPTER_TIMEOUT_S)."""
    settings = get_settings()
    return RegistryClient(settings.registry_url, settings.adapter_timeout_s)
