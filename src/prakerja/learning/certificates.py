"""Certificates: signed canonical facts, an Open Badges 3.0 credential, and the PDF.

The facts are canonical JSON (RFC 8785) signed with the programme's Ed25519 key; the badge is a
W3C Verifiable Credential (`OpenBadgeCredential`) whose `proof` array holds one
`DataIntegrityProof` (cryptosuite `eddsa-jcs-2022`): the signature covers
SHA-256(JCS(proof options)) || SHA-256(JCS(credential without proof)). Both are stored in
canonical form, and verification demands canonical form, so changing any single byte of either
makes verification fail. The PDF is rebuilt from the signed facts whenever it is downloaded.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
from typing import Any

import segno
from fpdf import FPDF

from prakerja.kit.clock import as_utc, jakarta_date
from prakerja.learning import jcs, signing

OB_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
KEYS_PATH = "/.well-known/prakerja-keys.json"
# One key as a Multikey document: what a badge proof's verificationMethod dereferences to, so a
# Data Integrity verifier that fetches it finds the key (badges before 11-29 name `KEYS_PATH#kid`).
KEY_PATH = "/.well-known/prakerja-keys/"


def verify_url(base_url: str, public_id: str) -> str:
    return f"{base_url.rstrip('/')}/certificates/{public_id}"


def sign_facts(facts: dict[str, Any]) -> tuple[bytes, str, str]:
    """(canonical facts bytes, kid, base64url signature)."""
    data = jcs.canonical(facts)
    kid, sig = signing.sign(data)
    return data, kid, signing.b64url(sig)


def verify_certificate(facts_json: bytes | str, kid: str, signature: str) -> bool:
    """True only for the exact signed bytes, in canonical form, under a known programme key."""
    data = facts_json.encode() if isinstance(facts_json, str) else facts_json
    try:
        sig = signing.b64url_decode(signature)
        if signing.b64url(sig) != signature:  # one spelling only: no malleable encodings
            return False
        parsed = json.loads(data.decode("utf-8"))
        if jcs.canonical(parsed) != data:
            return False
    except (ValueError, TypeError, UnicodeDecodeError):
        return False
    return signing.verify(kid, data, sig)


def _identity(name: str, salt: str) -> dict[str, Any]:
    digest = hashlib.sha256((name.strip().lower() + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


def unsigned_badge(facts: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The Open Badges 3.0 credential for the facts, before its proof."""
    base = base_url.rstrip("/")
    course, provider = facts["course"], facts["provider"]
    return {
        "@context": OB_CONTEXT,
        "id": facts["verify_url"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": course["title"],
        "issuer": {"id": f"{base}/", "type": ["Profile"], "name": "Kartu Prakerja"},
        "validFrom": facts["issued_at"],
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [_identity(facts["recipient"]["name"], facts["certificate_id"])],
            "achievement": {
                "id": f"{base}/courses/{course['id']}",
                "type": ["Achievement"],
                "achievementType": "Course",
                "name": course["title"],
                "description": f"{course['hours']} hours ({course['mode']}) by {provider['name']}",
                "criteria": {
                    "narrative": "Attended every session and completed the post-test "
                    "of this curated Prakerja course."
                },
                "creator": {
                    "id": f"{base}/providers/{provider['code']}",
                    "type": ["Profile"],
                    "name": provider["name"],
                },
            },
        },
    }


def _proof_hash(doc: dict[str, Any], options: dict[str, Any]) -> bytes:
    return (
        hashlib.sha256(jcs.canonical(options)).digest()
        + hashlib.sha256(jcs.canonical(doc)).digest()
    )


def sign_badge(doc: dict[str, Any], base_url: str, created: str) -> bytes:
    """The credential with an eddsa-jcs-2022 proof array, as canonical bytes."""
    kid = signing.keyring().active_kid
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": created,
        "verificationMethod": f"{base_url.rstrip('/')}{KEY_PATH}{kid}",
        "proofPurpose": "assertionMethod",
        "@context": doc["@context"],
    }
    _, sig = signing.sign(_proof_hash(doc, options))
    return jcs.canonical(doc | {"proof": [options | {"proofValue": "z" + jcs.b58encode(sig)}]})


def _check_proof(doc: dict[str, Any], proof: Any) -> bool:
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022":
        return False
    value, method = proof.get("proofValue"), proof.get("verificationMethod")
    if not (isinstance(value, str) and value.startswith("z") and isinstance(method, str)):
        return False
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if (
        options.get("@context") != doc.get("@context")
        or options.get("type") != "DataIntegrityProof"
    ):
        return False
    sig = jcs.b58decode(value[1:])
    if "z" + jcs.b58encode(sig) != value:
        return False
    kid = method.rpartition("#")[2] if "#" in method else method.rstrip("/").rpartition("/")[2]
    return signing.verify(kid, _proof_hash(doc, options), sig)


def verify_badge(badge_json: bytes | str) -> bool:
    """True only for a canonical credential whose every proof verifies under a programme key."""
    data = badge_json.encode() if isinstance(badge_json, str) else badge_json
    try:
        parsed = json.loads(data.decode("utf-8"))
        if not isinstance(parsed, dict) or jcs.canonical(parsed) != data:
            return False
        proofs = parsed.pop("proof", None)
        if not isinstance(proofs, list) or not proofs:
            return False
        return all(_check_proof(parsed, copy.deepcopy(p)) for p in proofs)
    except (ValueError, TypeError, UnicodeDecodeError):
        return False


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def completed_day(facts: dict[str, Any]) -> str | None:
    """The day the course was completed, as the Jakarta calendar has it (ISO 8601): a completion
    at 20:00 UTC falls on the next day there, and programme dates are Jakarta dates. None when
    the facts hold no readable instant."""
    try:
        instant = dt.datetime.fromisoformat(str(facts.get("completed_at") or ""))
    except ValueError:
        return None
    return jakarta_date(as_utc(instant)).isoformat()


def render_pdf(facts: dict[str, Any], kid: str, signature: str) -> bytes:
    """An A4 landscape certificate with a QR code to the public verification page."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title("Sertifikat Prakerja")
    pdf.set_creator("prakerja")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 28)
    pdf.cell(0, 24, "SERTIFIKAT / CERTIFICATE", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    pdf.cell(
        0,
        10,
        "Kartu Prakerja menyatakan bahwa / certifies that",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "B", 22)
    pdf.cell(0, 16, _latin1(facts["recipient"]["name"]), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    course = facts["course"]
    for line in (
        "telah menyelesaikan pelatihan / has completed the course",
        course["title"],
        f"{course['hours']} jam / hours - {facts['provider']['name']} "
        f"via {facts['platform']['name']}",
        f"Pre-test {facts['scores']['pre']} - Post-test {facts['scores']['post']}",
        f"Tanggal / Date: {completed_day(facts) or ''}",
    ):
        pdf.cell(0, 9, _latin1(line), align="C", new_x="LMARGIN", new_y="NEXT")
    qr = io.BytesIO()
    segno.make(facts["verify_url"], error="m").save(qr, kind="png", scale=6, border=2)
    qr.seek(0)
    pdf.image(qr, x=20, y=140, w=45, h=45)
    pdf.set_xy(70, 150)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        200,
        5,
        _latin1(
            f"No. {facts['certificate_id']}\nVerifikasi / Verify: {facts['verify_url']}\n"
            f"Ed25519 key {kid}\nSignature {signature[:43]}..."
        ),
    )
    return bytes(pdf.output())
