"""Runtime settings, read from `PRAKERJA_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _dev_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Settings(BaseSettings):
    """Everything the platform reads from its environment; defaults suit the embedded demo."""

    model_config = SettingsConfigDict(env_prefix="PRAKERJA_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/prakerja.db"
    base_url: str = "http://127.0.0.1:8000"
    default_language: str = "id"
    environment: str = "dev"  # dev | test | prod
    var_dir: Path = Path("./var")
    # Threads per web process for sync routes, and as many pooled database connections. More
    # threads let more requests wait on outside systems (the civil registry) at once, but cost
    # CPU per call in GIL contention. 16 threads with 8 registry calls at once served the
    # sign-up burst about 12 % faster than 12 with 6 (alternating runs), purchases alike; 24
    # and more cost CPU (docs/benchmarks.md, 11-29 i).
    web_threads: int = Field(16, ge=4)
    # Web requests never wait without bound: for a row lock (PostgreSQL lock_timeout) or for a
    # pooled connection. Either way the request answers 503 + Retry-After and changes nothing;
    # an unbounded wait can stall every route thread behind a request that cannot finish.
    web_lock_timeout_ms: int = 5000
    web_pool_timeout_s: float = 10.0

    # Secrets. In dev they fall back to fixed demo values so restarts keep sessions readable;
    # `prod` refuses to start without explicit ones (see production_problems).
    session_secret: str = "dev-session-secret-change-me"  # noqa: S105 (dev only, see above)
    # PII encryption keys as "kid:base64key,kid2:base64key"; the first one encrypts new data,
    # every listed key still decrypts, so keys rotate without downtime.
    pii_keys: str = "k1:" + base64.b64encode(b"dev-pii-key-0123456789abcdef0123")[:44].decode()
    blind_index_key: str = "dev-blind-index-key-change-me"
    audit_secret: str = "dev-audit-secret"  # noqa: S105 (dev only, see above)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_sender: str = "Prakerja <no-reply@prakerja.example>"
    sms_gateway_url: str = "http://127.0.0.1:8101"
    registry_url: str = "http://127.0.0.1:8102"
    face_url: str = "http://127.0.0.1:8103"
    adapter_timeout_s: float = 2.0
    # Per partner and process (kit.partner_http): calls at once and how long one more waits
    # for a slot, then failed calls in a row that open the circuit, and how long it stays open
    # before one trial call.
    # A process calls a partner at most adapter_max_in_flight / latency times a second (8 at
    # 20-80 ms: about 160/s); 6 bound the sign-up burst below the CPU on a fast machine.
    adapter_max_in_flight: int = Field(8, ge=1)
    adapter_slot_wait_s: float = Field(0.5, ge=0)
    adapter_breaker_failures: int = Field(5, ge=1)
    adapter_breaker_reset_s: float = Field(30.0, ge=0)

    # Keep a copy of every outgoing email/SMS for the unauthenticated "dev inbox" page, which
    # shows login codes and reset links: only `prakerja demo` and the tests turn it on.
    dev_inbox: bool = False
    run_worker_in_web: bool = False
    upload_max_bytes: int = 2 * 1024 * 1024
    # Any request body above this is refused (413) before it is read: the KTP photo plus the
    # form around it fits; a route that imports big files raises its own (web.allow_large_body).
    request_max_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)
    log_json: bool = False
    log_requests: bool = True  # one structured line per request (kit.web._log_request)

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("id", "en"):
            raise ValueError("default_language must be 'id' or 'en'")
        return value

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in ("dev", "test", "prod"):
            raise ValueError("environment must be 'dev', 'test' or 'prod'")
        return value

    @model_validator(mode="after")
    def _production_refuses_demo_values(self) -> Settings:
        # Checked on every load, so no process (web, worker, CLI) runs prod on demo secrets.
        if self.environment == "prod":
            problems = self.production_problems()
            if problems:
                raise ValueError("production refuses " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _bulkhead_below_route_threads(self) -> Settings:
        # The bulkhead exists so that a hanging partner cannot take every route thread; at or
        # above their number it would let exactly that happen.
        from prakerja.kit.routing import route_threads  # imports settings itself

        threads = route_threads(self.web_threads)
        if self.adapter_max_in_flight >= threads:
            raise ValueError(
                f"adapter_max_in_flight ({self.adapter_max_in_flight}) must be below the"
                f" {threads} route threads of web_threads={self.web_threads}, or a hanging"
                " partner holds every route thread"
            )
        return self

    def pii_keyring(self) -> dict[str, bytes]:
        """Key id -> 32-byte AES key, in configured order (first = active)."""
        ring: dict[str, bytes] = {}
        for part in filter(None, (p.strip() for p in self.pii_keys.split(","))):
            kid, _, b64 = part.partition(":")
            key = base64.b64decode(b64 + "=" * (-len(b64) % 4))
            if len(key) != 32:
                raise ValueError(f"PII key {kid!r} must be 32 bytes (base64)")
            ring[kid] = key
        if not ring:
            raise ValueError("PRAKERJA_PII_KEYS is empty")
        return ring

    def production_problems(self) -> list[str]:
        """What makes these settings unfit for production: demo secrets or the dev inbox."""
        demo = Settings.model_fields
        problems = [
            f"the demo value of PRAKERJA_{name.upper()}"
            for name in ("session_secret", "blind_index_key", "audit_secret", "pii_keys")
            if getattr(self, name) == demo[name].default or "dev-" in getattr(self, name)
        ]
        if self.dev_inbox:
            problems.append("PRAKERJA_DEV_INBOX=1 (it shows every login code to anyone)")
        return problems


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests override by clearing this cache)."""
    return Settings()


new_key = _dev_key
