"""Pure ledger rules: amounts, payload fingerprints, the errors the ledger raises."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from prakerja.kit.errors import Conflict, Invalid, NotFound


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    title = "The balance is not enough for this amount"


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    title = "This idempotency key was already used for a different request"


class TransferNotPending(Conflict):
    code = "transfer_not_pending"
    title = "The transfer is no longer pending"


class TransferNotPosted(Conflict):
    code = "transfer_not_posted"
    title = "Only a posted transfer can be reversed"


class UnknownAccount(NotFound):
    code = "unknown_ledger_account"
    title = "Ledger account not found"


class BadAmount(Invalid):
    code = "bad_amount"
    title = "An amount must be a positive whole number of rupiah"


def check_amount(amount: object) -> int:
    """A positive int (bools and floats are refused: no floats near money)."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise BadAmount(f"amount {amount!r} is not a positive integer")
    return amount


def fingerprint(**payload: Any) -> str:
    """A stable hash of what a request asked for, to tell a retry from a different request."""
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()
