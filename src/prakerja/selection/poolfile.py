"""The published files of a draw: the canonical pool file, the params JSON, commitments, verify.

Guarantees: encoding is canonical (one byte string per pool and per params object), so the
published SHA-256 values identify them; `verify` recomputes everything from the two files alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prakerja.kit.errors import Invalid
from prakerja.selection import draw as drawing
from prakerja.selection.quota import QuotaInputs, split_quota

MAGIC = b"PRAKERJA-POOL-v1"
FORMAT = "prakerja-draw/1"
_HEX64 = frozenset("0123456789abcdef")
_TOP_KEYS = {
    "apportionment",
    "format",
    "inclusion_tickets",
    "kk_cap",
    "places",
    "policy_version",
    "pool_count",
    "pool_sha256",
    "priority_quota",
    "quotas",
    "redistribute_unfilled",
    "result",
    "seed",
    "seed_commitment",
    "wave_id",
}
_APPORTION_KEYS = {
    "bonus_cells",
    "bonus_percent",
    "capacity",
    "coefficients",
    "indicators",
    "minimum",
}
_RESULT_KEYS = {"params_sha256", "waitlist_sha256", "winners", "winners_sha256"}


class PoolFileError(Invalid):
    code = "selection.pool_file_invalid"
    title = "The pool file is not a canonical pool"


class ParamsError(Invalid):
    code = "selection.params_invalid"
    title = "The draw parameters file is not valid"


def pseudonym(secret: bytes, person_id: bytes) -> bytes:
    """The first 16 bytes of HMAC-SHA256(wave secret, id): stable per wave, not reversible."""
    return hmac.new(secret, person_id, hashlib.sha256).digest()[:16]


def pseudonyms_of(secret: bytes, person_id: int, kk_bidx: str | None) -> tuple[bytes, bytes]:
    """(person pseudonym, family pseudonym) of one applicant: a person without a KK is their
    own family. Set when the citizen joins, so the national screening has none to compute."""
    family = f"kk:{kk_bidx}" if kk_bidx else f"person:{person_id}"
    return pseudonym(secret, str(person_id).encode()), pseudonym(secret, family.encode())


def commit(secret: bytes) -> str:
    """The public commitment to a seed: lowercase hex SHA-256 of the secret."""
    return hashlib.sha256(secret).hexdigest()


def check_reveal(commitment: str, secret: bytes) -> bool:
    """True iff the revealed secret hashes to the commitment (constant-time compare)."""
    return hmac.compare_digest(commitment.encode(), commit(secret).encode())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_pool(rows: np.ndarray) -> bytes:
    """The canonical pool file: magic, then 38-byte records in ascending pseudonym order."""
    rows = np.asarray(rows, dtype=drawing.POOL_DTYPE)
    ordered = rows[drawing.sort_pairs(drawing.pair_words(rows["pid"]))]
    _check_rows(ordered)
    return MAGIC + ordered.tobytes()


def decode_pool(data: bytes) -> np.ndarray:
    """Pool rows from a canonical pool file; anything else is refused with the reason."""
    if not data.startswith(MAGIC):
        raise PoolFileError("the pool file does not start with PRAKERJA-POOL-v1")
    body = memoryview(data)[len(MAGIC) :]
    if len(body) % drawing.POOL_DTYPE.itemsize:
        raise PoolFileError("the pool file is cut inside a record")
    rows = np.frombuffer(body, dtype=drawing.POOL_DTYPE)
    _check_rows(rows)
    return rows


def _check_rows(rows: np.ndarray) -> None:
    words = np.ascontiguousarray(rows["pid"]).view(">u8").reshape(-1, 2)
    a, b = words[:, 0], words[:, 1]
    rising = (a[1:] > a[:-1]) | ((a[1:] == a[:-1]) & (b[1:] > b[:-1]))
    if not np.all(rising):
        raise PoolFileError("pseudonyms must be unique and in ascending order")
    cell = rows["cell"]
    if np.any((cell // 100 > 99) | (cell % 100 > 99)):
        raise PoolFileError("a cell number is not a kabupaten/kota code")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no spaces, ASCII only, no trailing newline."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def params_core_sha256(params: dict[str, Any]) -> str:
    """SHA-256 of the canonical params without their `result` member."""
    return sha256_hex(canonical_json({k: v for k, v in params.items() if k != "result"}))


def _int(value: Any, what: str, low: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ParamsError(f"{what} must be an integer >= {low}")
    return value


def _hex64(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX64:
        raise ParamsError(f"{what} must be 64 lowercase hex digits")
    return value


def _int_map(value: Any, what: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ParamsError(f"{what} must be an object")
    return {str(k): _int(v, f"{what}[{k}]") for k, v in value.items()}


def quota_inputs(params: dict[str, Any]) -> QuotaInputs:
    """The apportionment inputs of a params object (cells get places - priority_quota)."""
    app = params["apportionment"]
    if not isinstance(app, dict) or set(app) != _APPORTION_KEYS:
        raise ParamsError(f"apportionment must have exactly {sorted(_APPORTION_KEYS)}")
    indicators = app["indicators"]
    if not isinstance(indicators, dict):
        raise ParamsError("indicators must be an object")
    bonus = app["bonus_cells"]
    if not isinstance(bonus, list) or bonus != sorted(set(bonus)):
        raise ParamsError("bonus_cells must be a sorted list of distinct codes")
    return QuotaInputs(
        places=_int(params["places"], "places") - _int(params["priority_quota"], "priority_quota"),
        indicators={str(k): _int_map(v, f"indicator {k}") for k, v in indicators.items()},
        coefficients=_int_map(app["coefficients"], "coefficients"),
        minimum=_int(app["minimum"], "minimum"),
        bonus_percent=_int(app["bonus_percent"], "bonus_percent"),
        bonus_cells=frozenset(bonus),
        capacity=None if app["capacity"] is None else _int_map(app["capacity"], "capacity"),
    )


def load_params(data: bytes) -> dict[str, Any]:
    """The params object, if `data` is its canonical encoding with exactly the known members."""
    try:
        params = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParamsError(f"not JSON: {exc}") from None
    if not isinstance(params, dict) or set(params) != _TOP_KEYS:
        raise ParamsError(f"the params must have exactly the members {sorted(_TOP_KEYS)}")
    if canonical_json(params) != data:
        raise ParamsError("the params file is not in canonical form")
    if params["format"] != FORMAT or not isinstance(params["policy_version"], str):
        raise ParamsError(f"format must be {FORMAT!r} and policy_version a string")
    for key in ("seed", "seed_commitment", "pool_sha256"):
        _hex64(params[key], key)
    for key in ("wave_id", "kk_cap", "pool_count"):
        _int(params[key], key)
    result = params["result"]
    if not isinstance(result, dict) or set(result) != _RESULT_KEYS:
        raise ParamsError(f"result must have exactly {sorted(_RESULT_KEYS)}")
    if not isinstance(params["redistribute_unfilled"], bool):
        raise ParamsError("redistribute_unfilled must be true or false")
    return params


def draw_spec(params: dict[str, Any]) -> drawing.DrawSpec:
    """The DrawSpec a params object describes."""
    tickets = _int_map(params["inclusion_tickets"], "inclusion_tickets")
    if any(not k.isdigit() for k in tickets):
        raise ParamsError("inclusion_tickets keys must be flag bit numbers")
    return drawing.DrawSpec(
        seed=bytes.fromhex(params["seed"]),
        wave_id=params["wave_id"],
        quotas=_int_map(params["quotas"], "quotas"),
        priority_quota=_int(params["priority_quota"], "priority_quota"),
        kk_cap=params["kk_cap"],
        inclusion_tickets={int(k): v for k, v in tickets.items()},
        redistribute_unfilled=params["redistribute_unfilled"],
    )


def seal(
    params: dict[str, Any],
    rows: np.ndarray,
    result: drawing.DrawResult,
) -> bytes:
    """The canonical params file with its `result` member filled in from a draw."""
    core = {k: v for k, v in params.items() if k != "result"}
    core["result"] = {
        "params_sha256": params_core_sha256(core),
        "waitlist_sha256": drawing.waitlist_sha256(rows, result),
        "winners": int(result.winners.sum()),
        "winners_sha256": drawing.winners_sha256(rows, result),
    }
    return canonical_json(core)


@dataclass
class VerifyReport:
    """Each check by name; ok only if every check ran and passed."""

    checks: dict[str, bool] = field(default_factory=dict)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values()) and not self.reason


def verify(pool_data: bytes, params_data: bytes, workers: int = 2) -> VerifyReport:
    """Recompute quotas and winners from the two published files and compare every digest."""
    report = VerifyReport()
    try:
        params = load_params(params_data)
        report.checks["pool_sha256"] = sha256_hex(pool_data) == params["pool_sha256"]
        report.checks["seed_reveal"] = check_reveal(
            params["seed_commitment"], bytes.fromhex(params["seed"])
        )
        report.checks["params_sha256"] = (
            params_core_sha256(params) == params["result"]["params_sha256"]
        )
        report.checks["quotas"] = split_quota(quota_inputs(params)) == params["quotas"]
        rows = decode_pool(pool_data)
        report.checks["pool_count"] = len(rows) == params["pool_count"]
        result = drawing.draw(rows, draw_spec(params), workers=workers)
        expect = params["result"]
        report.checks["winners"] = int(result.winners.sum()) == expect["winners"]
        report.checks["winners_sha256"] = (
            drawing.winners_sha256(rows, result) == expect["winners_sha256"]
        )
        report.checks["waitlist_sha256"] = (
            drawing.waitlist_sha256(rows, result) == expect["waitlist_sha256"]
        )
    except Invalid as exc:
        report.reason = exc.detail
    return report
