"""Canonical JSON, signatures and Open Badges proofs: any single-byte change is detected."""

from __future__ import annotations

import enum
import hashlib
import json
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from prakerja.learning import certificates, jcs, signing
from tests.fixtures_sim import pointed_at
from tests.qr import qr_texts

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


@pytest.mark.parametrize(
    "bad",
    [
        1.5,
        2**53,
        -(2**53),
        {1: "x"},
        {"a": object()},
        {"a": [0.0]},
        {"a": {"b": -(2**60)}},
        {None: 1},
        {True: 1},
        {("a",): 1},
        [float("nan")],
        {"a": b"x"},
        {"a": {1, 2}},
        {"a": Decimal(1)},
        {"\U0001f600": 1.5},
    ],
)
def test_values_outside_the_supported_subset_are_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        jcs.canonical(bad)


def _outcome(encode: Any, value: object) -> tuple[str, object]:
    try:
        return "bytes", encode(value)
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError too: lone surrogates
        return type(exc).__name__, str(exc)


_ODD_CHARS = ["\ue000", "\uf8ff", "\ufb01", "\uffff", "\U00010000", "\U0001f600"]
_SURROGATES = ["\ud800", "\udfff"]


def _text(odd_chars: list[str]) -> st.SearchStrategy[str]:
    return st.text(
        alphabet=st.one_of(st.characters(max_codepoint=0x24F), st.sampled_from(odd_chars)),
        max_size=6,
    )


def _json_values(odd_chars: list[str], odd_leaves: list[object]) -> st.SearchStrategy[object]:
    text = _text(odd_chars)
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
        | text
        | (st.sampled_from(odd_leaves) if odd_leaves else st.nothing())
    )
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.lists(inner, max_size=3).map(tuple)
            | st.dictionaries(text, inner, max_size=5)
        ),
        max_leaves=25,
    )


@settings(max_examples=600)
@given(
    st.dictionaries(
        st.text(alphabet=st.sampled_from(["a", "\u20ac", *_ODD_CHARS]), max_size=3),
        _json_values(_ODD_CHARS, []),
        min_size=2,
        max_size=6,
    )
    | _json_values(_ODD_CHARS, [])
)
def test_the_fast_path_writes_what_the_general_encoder_writes(value: object) -> None:
    assert jcs.canonical(value) == jcs._general(value)


@settings(max_examples=400)
@given(_json_values(_ODD_CHARS + _SURROGATES, [2**53, -(2**53), 0.5]))
def test_the_fast_path_refuses_what_the_general_encoder_refuses(value: object) -> None:
    assert _outcome(jcs.canonical, value) == _outcome(jcs._general, value)


class _Level(enum.IntEnum):
    LOW = 1


class _Loud(int):
    def __str__(self) -> str:
        return "loud"


class _Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        {"a": True, "b": False, "c": 1, "d": 0, "e": None},
        {"level": _Level.LOW, "loud": _Loud(5)},
        {_Text("k"): _Text("v")},
        OrderedDict([("b", 1), ("a", 2)]),
        {"a": (1, [2, ()], {})},
        {"\ue000": 1, "\U0001f600": 2, "a": {"\uffff": 3, "\U00010000": 4}},
        {"\ud800": 1},
        ["\ud800"],
        {"a": float("inf")},
    ],
)
def test_bools_subclasses_and_odd_keys_encode_or_fail_as_before(value: object) -> None:
    assert _outcome(jcs.canonical, value) == _outcome(jcs._general, value)


def test_bools_stay_true_and_false_beside_ones_and_zeros() -> None:
    assert jcs.canonical([True, 1, False, 0]) == b"[true,1,false,0]"


def test_deep_nesting_behaves_as_before() -> None:
    nested: Any = "x"
    for i in range(100):
        nested = [nested] if i % 2 else {"k": nested}
    assert jcs.canonical(nested) == jcs._general(nested)
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(RecursionError):
        jcs.canonical(nested)


def test_the_certificate_documents_take_the_fast_path() -> None:
    badge = certificates.sign_badge(
        certificates.unsigned_badge(FACTS, BASE), BASE, FACTS["issued_at"]
    )
    assert jcs._plain(FACTS, 0)
    assert jcs._plain(json.loads(badge), 0)


def test_base58_round_trips_with_leading_zeros() -> None:
    for data in (b"", b"\0\0abc", bytes(range(64))):
        assert jcs.b58decode(jcs.b58encode(data)) == data
    assert jcs.b58encode(b"hello world") == "StV1DL6CwTryKyV"


def _reference_b58(data: bytes) -> str:
    """One base58 digit per division (what jcs once did itself)."""
    n, digits = int.from_bytes(data, "big"), ""
    while n:
        n, rem = divmod(n, 58)
        digits = jcs._B58[rem] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


@settings(max_examples=400)
@given(st.binary(max_size=80))
def test_base58_matches_the_digit_by_digit_reference(data: bytes) -> None:
    assert jcs.b58encode(data) == _reference_b58(data)
    assert jcs.b58decode(jcs.b58encode(data)) == data


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


def test_the_keyring_follows_the_configured_var_dir(tmp_path: Path) -> None:
    before = signing.keyring().active_kid
    try:
        with pointed_at(var_dir=str(tmp_path)):
            other = signing.keyring().active_kid
            assert other != before
            assert (tmp_path / "keys" / "certificates" / f"{other}.pem").exists()
        assert signing.keyring().active_kid == before
    finally:
        signing.reload()


def test_a_relative_var_dir_follows_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        with pointed_at(var_dir="var"):
            monkeypatch.chdir(tmp_path / "a")
            first = signing.keyring().active_kid
            monkeypatch.chdir(tmp_path / "b")
            second = signing.keyring().active_kid
            assert first != second
            assert (tmp_path / "b" / "var" / "keys" / "certificates" / f"{second}.pem").exists()
            monkeypatch.chdir(tmp_path / "a")
            assert signing.keyring().active_kid == first
    finally:
        signing.reload()


def _first_key_in(var: str, start: Any) -> str:
    """In a fresh process: wait for the others, then ask for the keys of `var`."""
    import os

    os.environ["PRAKERJA_VAR_DIR"] = var
    from prakerja.settings import get_settings

    get_settings.cache_clear()
    start.wait()
    return signing.keyring().active_kid


def test_web_workers_starting_together_agree_on_one_whole_key(tmp_path: Path) -> None:
    """Found by bench/bench_completion.py: a worker read the first key file while another was
    still writing it (500, "Unable to load PEM file"), and two workers could each make a key."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start = ctx.Manager().Barrier(6)
    with ctx.Pool(6) as pool:
        kids = pool.starmap(_first_key_in, [(str(tmp_path), start)] * 6)
    files = list((tmp_path / "keys" / "certificates").glob("*.pem"))
    assert len(set(kids)) == 1
    assert [f.stem for f in files] == kids[:1]
    assert not list((tmp_path / "keys" / "certificates").glob(".*.tmp"))


def test_a_key_another_process_added_verifies_without_a_restart(signing_keys: Path) -> None:
    signing.keyring()  # this process has read the folder
    path = signing._write_new(signing.key_dir())  # another process rotates

    other = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(other, Ed25519PrivateKey)
    data = jcs.canonical(FACTS)
    try:
        assert signing.verify(path.stem, data, other.sign(data))
        assert not signing.verify(path.stem, data + b" ", other.sign(data))
        assert not signing.verify("../../etc/passwd", data, other.sign(data))
    finally:
        signing.reload()


# SHA-256 of what the original (element-at-a-time) encoder and signer produced for FACTS under
# the key with seed bytes(range(32)); Ed25519 is deterministic, so any changed byte shows here
_FACTS_DIGEST = "ae53b09c157f589c767fe4c356ce9dfb0744fc2fb6c2ca7475fd17c5a55e66d8"
# changed 11-29 on purpose: the proof's verificationMethod names the key's Multikey document
_BADGE_DIGEST = "ec9bbe8346a2a8725147fbef69980ed3ff07ba32c309ba70ed763da5a6353577"


def test_certificates_are_byte_for_byte_what_they_were(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    folder = tmp_path / "keys" / "certificates"
    folder.mkdir(parents=True)
    (folder / f"{signing.key_id(key.public_key())}.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    try:
        with pointed_at(var_dir=str(tmp_path)):
            data, kid, sig = certificates.sign_facts(FACTS)
            badge = certificates.sign_badge(
                certificates.unsigned_badge(FACTS, BASE), BASE, FACTS["issued_at"]
            )
    finally:
        signing.reload()
    facts_blob = data + kid.encode() + sig.encode()
    assert hashlib.sha256(facts_blob).hexdigest() == _FACTS_DIGEST
    assert hashlib.sha256(badge).hexdigest() == _BADGE_DIGEST


def test_the_pdf_carries_a_qr_code_and_the_verify_url() -> None:
    _data, kid, sig = certificates.sign_facts(FACTS)
    pdf = certificates.render_pdf(FACTS, kid, sig)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 1500
    assert b"/Subtype /Image" in pdf
    assert qr_texts(pdf) == [FACTS["verify_url"]]  # what a phone scanning the paper opens


def test_a_verifier_that_fetches_the_verification_method_checks_the_badge_on_its_own(
    client: Any,
) -> None:
    """eddsa-jcs-2022 done from the outside: dereference the proof's verificationMethod (a
    Multikey document on our site), decode its key, and check the signature with nothing of
    ours but the JSON canonicalisation."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from prakerja.settings import get_settings

    base = get_settings().base_url
    badge = json.loads(
        certificates.sign_badge(certificates.unsigned_badge(FACTS, base), base, FACTS["issued_at"])
    )
    (proof,) = badge.pop("proof")
    method = proof["verificationMethod"]
    assert method.startswith(base)
    assert "#" not in method
    key_doc = client.get(method.removeprefix(base)).json()
    assert key_doc["type"] == "Multikey"
    assert key_doc["id"] == method
    assert key_doc["controller"] == badge["issuer"]["id"]
    raw = jcs.b58decode(key_doc["publicKeyMultibase"].removeprefix("z"))
    assert raw[:2] == b"\xed\x01"  # the Ed25519 multicodec
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    signed = (
        hashlib.sha256(jcs.canonical(options)).digest()
        + hashlib.sha256(jcs.canonical(badge)).digest()
    )
    Ed25519PublicKey.from_public_bytes(raw[2:]).verify(
        jcs.b58decode(proof["proofValue"].removeprefix("z")), signed
    )  # raises InvalidSignature if wrong
    assert client.get("/.well-known/prakerja-keys/" + "0" * 16).status_code == 404


def test_badges_issued_before_naming_the_key_set_fragment_still_verify() -> None:
    badge = json.loads(
        certificates.sign_badge(certificates.unsigned_badge(FACTS, BASE), BASE, FACTS["issued_at"])
    )
    proof = badge["proof"][0]
    kid = proof["verificationMethod"].rpartition("/")[2]
    old_style = proof | {"verificationMethod": f"{BASE}{certificates.KEYS_PATH}#{kid}"}
    options = {k: v for k, v in old_style.items() if k != "proofValue"}
    doc = {k: v for k, v in badge.items() if k != "proof"}
    _, sig = signing.sign(
        hashlib.sha256(jcs.canonical(options)).digest()
        + hashlib.sha256(jcs.canonical(doc)).digest()
    )
    old_style["proofValue"] = "z" + jcs.b58encode(sig)
    assert certificates.verify_badge(jcs.canonical(doc | {"proof": [old_style]}))


def test_the_completion_day_is_the_jakarta_day_on_paper_and_online() -> None:
    """20:00 UTC on 28 November is 03:00 on the 29th in Jakarta: the certificate says the 29th."""
    import pypdfium2

    late = {**FACTS, "completed_at": "2026-11-28T20:00:00Z"}
    assert certificates.completed_day(late) == "2026-11-29"
    assert certificates.completed_day(FACTS) == "2026-11-28"
    assert certificates.completed_day({**FACTS, "completed_at": "kemarin"}) is None
    _data, kid, sig = certificates.sign_facts(late)
    page = pypdfium2.PdfDocument(certificates.render_pdf(late, kid, sig))[0]
    assert "Tanggal / Date: 2026-11-29" in page.get_textpage().get_text_range()
