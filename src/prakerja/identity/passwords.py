"""Password hashing with argon2id.

Parameters: m=19456 KiB (19 MiB), t=2, p=1 — OWASP's recommended minimum for argon2id. We stay at
the minimum on purpose: the launch peak is 1,333 sign-ups a second, and memory-hard hashing is
the dominant CPU cost of registration (see bench/bench_password.py). Raising the parameters later
is safe: `needs_rehash` flags old hashes and login re-hashes them.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MEMORY_KIB, TIME_COST, PARALLELISM = 19_456, 2, 1

_hasher = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_KIB,
    parallelism=PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)

# A valid hash of a random password, verified against when an email is unknown so that a login
# attempt takes the same time whether or not the account exists.
_DUMMY_HASH = _hasher.hash("dummy password used to equalise timing 7f3a")


def hash_password(password: str) -> str:
    """An argon2id PHC string with a fresh random salt."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True only if `password` matches; a malformed stored hash is a mismatch, never an error."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def burn_time(password: str) -> None:
    """Spend one verification's worth of time (for unknown emails)."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    """True if the hash was made with other (older) parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
