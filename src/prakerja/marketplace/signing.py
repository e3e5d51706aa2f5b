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
import time

CLIENT_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "X-Client-Id", "X-Timestamp", "X-Signature"


def string_to_sign(method: str, path: str, body: bytes, timestamp: int) -> str:
    """The canonical text that is signed."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{digest}\n{timestamp}"


def signature(secret: str, method: str, path: str, body: bytes, timestamp: int) -> str:
    """Hex HMAC-SHA256 of the canonical text under `secret`."""
    text = string_to_sign(method, path, body, timestamp)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def sign(
    client_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three headers that authenticate one request (timestamp defaults to now)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        CLIENT_HEADER: client_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: signature(secret, method, path, body, ts),
    }


def matches(secret: str, method: str, path: str, body: bytes, timestamp: int, given: str) -> bool:
    """Constant-time check of a received signature."""
    expected = signature(secret, method, path, body, timestamp)
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
