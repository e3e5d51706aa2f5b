"""Canonical JSON, signatures and Open Badges proofs: any single-byte change is detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.learning import certificates, jcs, signing

BASE = "https://prakerja.example"
FACTS = {
    "type": "PrakerjaCertificate",
    "version": 1,
    "certificate_id": "c0ffee" * 5 + "ab",
    "order_id": "ab" * 16,
    "recipient": {"name": "Siti Nurhaliza"},
    "course": {
        "id": "cd" * 16,
        "title": "Barista Profesional – Kopi Nusantara",
        "hours": 18,
        "mode": "offline",
    },
    "provider": {"code": "lp-kopi", "name": "LP Kopi"},
    "platform": {"code": "pintar", "name": "Pintar"},
    "scores": {"pre": 40, "post": 85},
    "completed_at": "2026-11-28T03:00:00Z",
    "issued_at": "2026-11-28T03:00:00Z",
    "verify_url": f"{BASE}/certificates/{'c0ffee' * 5}ab",
}


def test_canonical_json_sorts_keys_by_utf16_and_escapes_minimally() -> None:
    assert jcs.canonical({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'
    assert jcs.canonical({"\u20ac": 1, "\U0001f600": 2, "\ufb01": 3}) == (
        '{"\u20ac":1,"\U0001f600":2,"\ufb01":3}'.encode()
    )  # surrogates sort before U+FB01
    assert jcs.canonical('a"\\\n\x01é') == '"a\\"\\\\\\n\\u0001é"'.encode()


def _reference_string(value: str) -> str:
    """RFC 8785 section 3.2.2.2, one character at a time (what jcs once did itself)."""
    named = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
    }
    out = [named.get(ch) or (f"\\u{ord(ch):04x}" if ord(ch) < 0x20 else ch) for ch in value]
    return '"' + "".join(out) + '"'


@settings(max_examples=400)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])))
def test_string_escaping_matches_the_rfc_8785_reference(value: str) -> None:
    assert jcs.canonical(value) == _reference_string(value).encode()


@pytest.mark.parametrize("bad", [1.5, 2**53, {1: "x"}, {"a": object()}])
def test_values_outside_the_supported_subset_are_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        jcs.canonical(bad)


def test_base58_round_trips_with_leading_zeros() -> None:
    for data in (b"", b"\0\0abc", bytes(range(64))):
        assert jcs.b58decode(jcs.b58encode(data)) == data
    assert jcs.b58encode(b"hello world") == "StV1DL6CwTryKyV"


def _flip_each_byte(data: bytes) -> list[bytes]:
    return [data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :] for i in range(len(data))]


def test_signed_facts_verify_and_any_single_byte_change_fails() -> None:
    data, kid, sig = certificates.sign_facts(FACTS)
    assert certificates.verify_certificate(data, kid, sig)
    assert not any(certificates.verify_certificate(d, kid, sig) for d in _flip_each_byte(data))
    assert not certificates.verify_certificate(data, "0" * 16, sig)
    for i in range(len(sig)):  # every other spelling of the signature is refused
        for ch in "AB_w":
            if sig[i] != ch:
                assert not certificates.verify_certificate(data, kid, sig[:i] + ch + sig[i + 1 :])


def test_the_badge_is_an_open_badge_with_a_proof_array() -> None:
    badge = json.loads(
        certificates.sign_badge(certificates.unsigned_badge(FACTS, BASE), BASE, FACTS["issued_at"])
    )
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["credentialSubject"]["achievement"]["name"] == FACTS["course"]["title"]
    assert badge["issuer"]["type"] == ["Profile"]
    assert badge["validFrom"] == FACTS["issued_at"]
    assert isinstance(badge["proof"], list)
    assert len(badge["proof"]) == 1
    proof = badge["proof"][0]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofValue"].startswith("z")
    assert "Siti" not in json.dumps(badge)  # the recipient is a salted hash


def test_a_badge_verifies_and_any_single_byte_change_fails() -> None:
    badge = certificates.sign_badge(
        certificates.unsigned_badge(FACTS, BASE), BASE, FACTS["issued_at"]
    )
    assert certificates.verify_badge(badge)
    assert not any(certificates.verify_badge(b) for b in _flip_each_byte(badge))


def test_a_re_serialised_or_proofless_badge_fails() -> None:
    badge = certificates.sign_badge(
        certificates.unsigned_badge(FACTS, BASE), BASE, FACTS["issued_at"]
    )
    doc = json.loads(badge)
    assert not certificates.verify_badge(json.dumps(doc, indent=1))
    doc["proof"] = doc["proof"][0]
    assert not certificates.verify_badge(jcs.canonical(doc))
    del doc["proof"]
    assert not certificates.verify_badge(jcs.canonical(doc))


def test_rotation_keeps_old_certificates_verifiable(signing_keys: Path) -> None:
    data, old_kid, sig = certificates.sign_facts(FACTS)
    new_kid = signing.rotate()
    try:
        assert signing.keyring().active_kid == new_kid != old_kid
        assert certificates.verify_certificate(data, old_kid, sig)
        listed = {k["kid"]: k["status"] for k in signing.jwks()["keys"]}  # type: ignore[union-attr]
        assert listed[old_kid] == "retired"
        assert listed[new_kid] == "active"
        assert certificates.sign_facts(FACTS)[1] == new_kid
    finally:
        signing.reload()


def test_key_files_are_private(signing_keys: Path) -> None:
    signing.keyring()
    files = list(signing.key_dir().glob("*.pem"))
    assert files
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    assert signing.key_dir().stat().st_mode & 0o777 == 0o700


def test_the_pdf_carries_a_qr_code_and_the_verify_url() -> None:
    _data, kid, sig = certificates.sign_facts(FACTS)
    pdf = certificates.render_pdf(FACTS, kid, sig)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1500
    assert b"/Subtype /Image" in pdf
