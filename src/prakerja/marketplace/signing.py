"""Request signatures for the partner API and our webhooks (HMAC-SHA256, hex).

    string_to_sign = METHOD + "\\n" + PATH (with ?query if any) + "\\n"
                     + hex(SHA-256(body)) + "\\n" + TIMESTAMP (unix seconds)
    X-Signature    = hex(HMAC-SHA256(secret, string_to_sign))

Headers: X-Client-Id, X-Timestamp, X-Signature. A request is fresh for five minutes either side
of our clock; an accepted signature is remembered until it could no longer be fresh, so a replay
is refused. `sign` is the one helper used by partners' clients, the simulator and our webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

CLIENT_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Client-Id", "X-Timestamp", "X-Signature"
NONCE_HEADER = "X-Nonce"
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")


def new_nonce() -> str:
    """A fresh random nonce (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def nonce_is_valid(nonce: str) -> bool:
    """Empty (no nonce) or 8-64 characters of A-Z a-z 0-9 - _."""
    return nonce == "" or _NONCE.fullmatch(nonce) is not None


def string_to_sign(method: str, path: str, body: bytes, timestamp: int, nonce: str = "") -> str:
    """The canonical text that is signed (the nonce's line only when there is one)."""
    digest = hashlib.sha256(body).hexdigest()
    text = f"{method.upper()}\n{path}\n{digest}\n{timestamp}"
    return f"{text}\n{nonce}" if nonce else text


def signature(
    secret: str, method: str, path: str, body: bytes, timestamp: int, nonce: str = ""
) -> str:
    """Hex HMAC-SHA256 of the canonical text under `secret`."""
    text = string_to_sign(method, path, body, timestamp, nonce)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign(
    client_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str = "",
) -> dict[str, str]:
    """The headers that authenticate one request (timestamp defaults to now; X-Nonce only
    when a nonce is given, e.g. `nonce=new_nonce()`)."""
    if not nonce_is_valid(nonce):
        raise ValueError("a nonce is 8-64 characters of A-Z a-z 0-9 - _")
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        CLIENT_HEADER: client_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: signature(secret, method, path, body, ts, nonce),
    }
    return headers | {NONCE_HEADER: nonce} if nonce else headers


def matches(
    secret: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    given: str,
    nonce: str = "",
) -> bool:
    """Constant-time check of a received signature."""
    expected = signature(secret, method, path, body, timestamp, nonce)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
