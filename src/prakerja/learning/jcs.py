"""JSON Canonicalization Scheme (RFC 8785) for the JSON subset certificates use, plus base58btc.

Supported values: dict (string keys), list, str, int (|n| < 2**53), bool and None. Floats are
refused rather than risk a serialisation that differs from ECMAScript's; certificates carry
none. Keys are ordered by their UTF-16 code units; strings escape only what RFC 8785 requires.
"""

from __future__ import annotations

import json
from typing import Any

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_SAFE_INT = 2**53


def _string(value: str) -> str:
    """RFC 8785 string: escapes exactly what ECMAScript's JSON.stringify escapes (the quote, the
    backslash, \\b \\f \\n \\r \\t, other controls below U+0020 as lowercase \\u00xx) and
    nothing else. The standard library's encoder (C) with ensure_ascii=False does exactly that;
    tests/learning/test_certificates.py checks it against a character-by-character reference."""
    return json.dumps(value, ensure_ascii=False)


def _encode(value: Any, out: list[str]) -> None:  # noqa: C901  (one branch per JSON type)
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) >= _SAFE_INT:
            raise ValueError("integer outside the IEEE-754 safe range")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, dict):
        _object(value, out)
    else:
        raise TypeError(f"cannot canonicalise {type(value).__name__}")


def _object(value: dict[Any, Any], out: list[str]) -> None:
    if not all(isinstance(k, str) for k in value):
        raise TypeError("object keys must be strings")
    out.append("{")
    for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be"))):
        if i:
            out.append(",")
        out.append(_string(key))
        out.append(":")
        _encode(value[key], out)
    out.append("}")


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value`."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def b58encode(data: bytes) -> str:
    """Bitcoin base58 (the alphabet of multibase 'z')."""
    n = int.from_bytes(data, "big")
    chars = []
    while n:
        n, rem = divmod(n, 58)
        chars.append(_B58[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    """Inverse of `b58encode`; ValueError on a character outside the alphabet."""
    n = 0
    for ch in text:
        idx = _B58.find(ch)
        if idx < 0:
            raise ValueError("not base58")
        n = n * 58 + idx
    pad = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * pad + body
