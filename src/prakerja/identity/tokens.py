"""Signed links, one-time codes and session tokens: only keyed hashes are ever stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from prakerja.settings import get_settings


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().session_secret, salt=f"prakerja.identity.{purpose}")


def sign(purpose: str, data: dict[str, Any], *, expires: dt.datetime) -> str:
    """A URL-safe signed token carrying `data` and its expiry (checked against `now` on load)."""
    return _serializer(purpose).dumps({**data, "x": int(expires.timestamp())})


def unsign(purpose: str, token: str, *, now: dt.datetime) -> dict[str, Any] | None:
    """The data of a valid, unexpired token for `purpose`; None for anything else."""
    try:
        data = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or int(data.get("x", 0)) <= now.timestamp():
        return None
    return data


def new_code() -> str:
    """A uniformly random 6-digit code."""
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(*parts: object) -> str:
    """HMAC of a code with its context (a 6-digit code alone would fall to a table lookup)."""
    msg = "\x1f".join(str(p) for p in parts).encode()
    return hmac.new(
        get_settings().session_secret.encode(), b"code:" + msg, hashlib.sha256
    ).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_token() -> str:
    """A random 256-bit URL-safe token."""
    return secrets.token_urlsafe(32)


def is_token(value: str) -> bool:
    """True if `value` has the shape of a token from `new_token` (safe to look up)."""
    return 0 < len(value) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token (no key needed: it cannot be guessed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def email_key(email: str) -> str:
    """A keyed hash of an email address for rate limits (no address stored in clear)."""
    return hmac.new(
        get_settings().session_secret.encode(), b"email:" + email.encode(), hashlib.sha256
    ).hexdigest()
