"""JSON Canonicalization Scheme (RFC 8785) for the JSON subset certificates use, plus base58btc.

Supported values: dict (string keys), list, str, int (|n| < 2**53), bool and None. Floats are
refused rather than risk a serialisation that differs from ECMAScript's; certificates carry
none. Keys are ordered by their UTF-16 code units; strings escape only what RFC 8785 requires.

For those values, RFC 8785 output is what the standard library's C encoder writes with sorted
keys and no whitespace, except for key order: Python sorts by code point, RFC 8785 by UTF-16
code unit, and the two can differ only when a key holds a character at or above U+D800 (a
surrogate, U+E000..U+FFFF, or an astral character). So `canonical` checks the value in one walk
and hands it to the C encoder; anything else (such keys, other types, subclasses, deep nesting)
goes to the general encoder below, which was the only one before and decides every refusal.
"""

from __future__ import annotations

import json
from typing import Any

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_PAIRS = [hi + lo for hi in _B58 for lo in _B58]  # two base58 digits per division
_SAFE_INT = 2**53
_FAST_DEPTH = 64  # deeper values take the general encoder, so its RecursionError stays as is
_FAST = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False
)


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


def _general(value: Any) -> bytes:
    """RFC 8785 one element at a time: any value, and the reference for the fast path."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def _plain(value: Any, depth: int) -> bool:
    """True if the C encoder writes `value` exactly as `_general` would: builtin types only (no
    subclasses), safe integers, and keys that sort the same by code point and by UTF-16."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        safe: bool = -_SAFE_INT < value < _SAFE_INT
        return safe
    if depth >= _FAST_DEPTH:
        return False
    if kind is dict:
        return _plain_object(value, depth + 1)
    if kind is list or kind is tuple:
        return all(type(item) is str or _plain(item, depth + 1) for item in value)
    return False


def _plain_object(value: dict[Any, Any], depth: int) -> bool:
    for key, item in value.items():
        if type(key) is not str or not (key.isascii() or max(key) < "\ud800"):
            return False
        if type(item) is not str and not _plain(item, depth):
            return False
    return True


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of `value`; TypeError or ValueError outside the
    supported subset."""
    if _plain(value, 0):
        return _FAST.encode(value).encode("utf-8")
    return _general(value)


def b58encode(data: bytes) -> str:
    """Bitcoin base58 (the alphabet of multibase 'z')."""
    n = int.from_bytes(data, "big")
    pairs = []
    while n:
        n, rem = divmod(n, 58 * 58)
        pairs.append(_B58_PAIRS[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    # the top pair may start with a zero digit ("1"), which is not part of the number
    return "1" * pad + "".join(reversed(pairs)).lstrip("1")


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
