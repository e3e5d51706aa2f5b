"""The programme's Ed25519 signing keys for certificates.

Keys live as PKCS#8 PEM files under `<settings.var_dir>/keys/certificates/`, created on first
use with 0600 permissions in a 0700 folder: under a lock on the folder, so web workers starting
together agree on one key, and written whole before it appears under its name.
A key id (`kid`) is the first 16 hex digits of SHA-256 over the raw public key, and every
signature names it, so verification picks the right key.

Rotation, without downtime: `rotate()` (or dropping a new `<kid>.pem` into the folder) adds a
key; the newest file by modification time signs from then on; older keys stay in the folder and
in GET /.well-known/prakerja-keys.json so every certificate ever issued still verifies. Remove
a key file only if its certificates are to stop verifying (a compromised key). Copy the folder
to every web process host (or share it), like any other secret. A process that meets a key id
it has not read yet, with that key's file in the folder, reads the folder again; to make every
process *sign* with a key added by hand, restart it or call `reload()`.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from prakerja.settings import get_settings

_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
_KID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Keyring:
    """The active private key and every public key by id (active one included)."""

    active_kid: str
    private: Ed25519PrivateKey
    public: dict[str, Ed25519PublicKey]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: Ed25519PublicKey) -> str:
    """The stable id of a public key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(public.public_bytes(*_RAW)).hexdigest()[:16]


def key_dir() -> Path:
    return Path(get_settings().var_dir) / "keys" / "certificates"


def _write_new(folder: Path) -> Path:
    """A new key file, whole or not at all: written under a temporary name, then renamed, so
    another process never reads half a PEM."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = folder / f"{key_id(key.public_key())}.pem"
    tmp = folder / f".{path.name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the key folder across processes (web workers start together)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _load(folder: Path) -> Keyring:
    files = sorted(folder.glob("*.pem"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    public: dict[str, Ed25519PublicKey] = {}
    active: Ed25519PrivateKey | None = None
    for path in files:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path.name} is not an Ed25519 key")
        public[key_id(key.public_key())] = key.public_key()
        active = key
    if active is None:
        raise FileNotFoundError(folder)
    return Keyring(key_id(active.public_key()), active, public)


@lru_cache(maxsize=4)
def _keyring_at(folder: Path) -> Keyring:
    with _folder_lock(folder):  # the first key is made once, whichever process asks first
        if not any(folder.glob("*.pem")):
            _write_new(folder)
        return _load(folder)


@lru_cache(maxsize=8)
def _resolved(var_dir: Path, cwd: str) -> Path:
    return (var_dir / "keys" / "certificates").resolve()


def keyring() -> Keyring:
    """The keys of the configured var_dir (created on first use; cached per folder)."""
    var_dir = get_settings().var_dir
    # resolving costs several syscalls per signature, so it is remembered per var_dir (and per
    # working directory when var_dir is relative); reload() forgets it, as it forgets the keys
    cwd = "" if var_dir.is_absolute() else os.getcwd()
    return _keyring_at(_resolved(var_dir, cwd))


def reload() -> None:
    """Forget the cached keys (after a key file was added or removed by hand)."""
    _resolved.cache_clear()
    _keyring_at.cache_clear()


def rotate() -> str:
    """Add a new signing key (it signs from now on; older keys still verify); its kid."""
    path = _write_new(key_dir())
    reload()
    return path.stem


def sign(data: bytes) -> tuple[str, bytes]:
    """(kid, 64-byte Ed25519 signature) of `data` under the active key."""
    ring = keyring()
    return ring.active_kid, ring.private.sign(data)


def verify(kid: str, data: bytes, sig: bytes) -> bool:
    """True only if `sig` is a valid signature of exactly `data` by the key `kid`."""
    public = keyring().public.get(kid)
    if public is None and _KID.fullmatch(kid) and (key_dir() / f"{kid}.pem").exists():
        reload()  # another process rotated since these keys were read
        public = keyring().public.get(kid)
    if public is None:
        return False
    try:
        public.verify(sig, data)
    except InvalidSignature:
        return False
    return True


def jwks() -> dict[str, object]:
    """The public keys as a JWK Set (OKP / Ed25519), the active one flagged."""
    ring = keyring()
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": kid,
                "x": b64url(pub.public_bytes(*_RAW)),
                "status": "active" if kid == ring.active_kid else "retired",
            }
            for kid, pub in ring.public.items()
        ]
    }


_ED25519_MULTICODEC = b"\xed\x01"  # the multicodec prefix of an Ed25519 public key


def multikey(kid: str, key_url: str, controller: str) -> dict[str, object] | None:
    """The key `kid` as a Data Integrity verification method (Multikey), what the
    `verificationMethod` URL of an Open Badges proof dereferences to; None if unknown."""
    from prakerja.learning.jcs import b58encode

    public = keyring().public.get(kid)
    if public is None:
        return None
    raw = public.public_bytes(*_RAW)
    return {
        "@context": ["https://w3id.org/security/multikey/v1"],
        "id": key_url,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": "z" + b58encode(_ED25519_MULTICODEC + raw),
    }
