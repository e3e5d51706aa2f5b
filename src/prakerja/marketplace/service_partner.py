"""Partners: onboarding and the audited curation workflow, API credentials, request signatures.

Credentials: at most two usable secrets per partner (one `active`, one `retiring`), so a partner
switches to a new secret before the old one is revoked and no request fails in between.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.kit import audit
from prakerja.kit.db import insert_returning, table_of
from prakerja.marketplace import rules, signing
from prakerja.marketplace.model import (
    ACTIVE_CRED,
    PLATFORM,
    PROVIDER,
    RETIRING,
    REVOKED,
    Partner,
    PartnerCredential,
    PartnerStatusChange,
    SeenSignature,
)
from prakerja.wallet import service as ledger

# The partner API authenticates every call: its statements are built once.
_PARTNER = select(Partner).where(Partner.id == bindparam("partner_id"))
_LIVE_CREDENTIAL = select(PartnerCredential).where(
    PartnerCredential.client_id == bindparam("client_id"), PartnerCredential.status != REVOKED
)


def get_partner(session: Session, partner_id: int) -> Partner:
    partner = session.scalar(_PARTNER, {"partner_id": partner_id})
    if partner is None:
        raise rules.PartnerNotFound()
    return partner


def partner_by_code(session: Session, code: str) -> Partner:
    partner = session.scalar(select(Partner).where(Partner.code == code))
    if partner is None:
        raise rules.PartnerNotFound(code)
    return partner


def apply(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    actor: str,
    now: dt.datetime,
    webhook_url: str | None = None,
    contact_email: str = "",
) -> Partner:
    """Register an applicant partner in state `applied` (audited); the code is unique."""
    rules.check_partner_code(code)
    if kind not in (PLATFORM, PROVIDER):
        raise rules.BadPartner("kind must be platform or provider")
    if not name.strip():
        raise rules.BadPartner("a name is required")
    if webhook_url and not webhook_url.startswith(("http://", "https://")):
        raise rules.BadPartner("the webhook URL must be http(s)")
    if session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise rules.PartnerExists(code)
    partner = Partner(
        code=code,
        name=name.strip(),
        kind=kind,
        status="applied",
        webhook_url=webhook_url or None,
        contact_email=contact_email,
        created_at=now,
        updated_at=now,
    )
    session.add(partner)
    session.flush()
    _history(session, partner, None, "applied", actor, "", now)
    return partner


def _history(
    session: Session,
    partner: Partner,
    before: str | None,
    after: str,
    actor: str,
    note: str,
    now: dt.datetime,
) -> None:
    session.add(
        PartnerStatusChange(
            partner_id=partner.id,
            from_status=before,
            to_status=after,
            actor=actor,
            note=note,
            at=now,
        )
    )
    audit.record(
        session,
        actor=actor,
        action=f"partner.{after}",
        target=f"partner:{partner.id}",
        data={"from": before, "to": after, "note": note, "code": partner.code},
        now=now,
    )
    session.flush()


def advance(
    session: Session, *, partner_id: int, to: str, actor: str, now: dt.datetime, note: str = ""
) -> Partner:
    """Move a partner one curation step (the rules' table decides), recorded and audited."""
    partner = get_partner(session, partner_id)
    rules.check_transition(partner.status, to)
    before = partner.status
    partner.status, partner.updated_at = to, now
    _history(session, partner, before, to, actor, note, now)
    if to == "active" and partner.kind == "platform":
        # Its payable account exists before its first sale: otherwise every buyer's first
        # purchase of a launch-day burst waits on the one transaction that creates it.
        ledger.open_account(session, code=f"platform:{partner.id}", kind="platform", now=now)
    return partner


def approve(
    session: Session, *, partner_id: int, actor: str, now: dt.datetime, note: str = ""
) -> Partner:
    """Assessment passed."""
    return advance(session, partner_id=partner_id, to="approved", actor=actor, now=now, note=note)


def reject(
    session: Session, *, partner_id: int, actor: str, now: dt.datetime, note: str = ""
) -> Partner:
    """Refused at due diligence or assessment (final)."""
    return advance(session, partner_id=partner_id, to="rejected", actor=actor, now=now, note=note)


def warn(
    session: Session, *, partner_id: int, actor: str, now: dt.datetime, note: str = ""
) -> Partner:
    """A formal warning; the partner keeps selling."""
    return advance(session, partner_id=partner_id, to="warned", actor=actor, now=now, note=note)


def suspend(
    session: Session, *, partner_id: int, actor: str, now: dt.datetime, note: str = ""
) -> Partner:
    """Stop sales: its courses leave the catalogue at once."""
    return advance(session, partner_id=partner_id, to="suspended", actor=actor, now=now, note=note)


def history(session: Session, partner_id: int) -> list[PartnerStatusChange]:
    return list(
        session.scalars(
            select(PartnerStatusChange)
            .where(PartnerStatusChange.partner_id == partner_id)
            .order_by(PartnerStatusChange.id)
        )
    )


def names_of(session: Session, partner_ids: list[int]) -> dict[int, str]:
    """partner id -> name, for pages that name a course's provider or an order's platform."""
    if not partner_ids:
        return {}
    stmt = select(Partner.id, Partner.name).where(Partner.id.in_(sorted(set(partner_ids))))
    return {int(i): str(n) for i, n in session.execute(stmt)}


def list_partners(session: Session) -> list[Partner]:
    return list(session.scalars(select(Partner).order_by(Partner.kind, Partner.code)))


# --- credentials -------------------------------------------------------------------------------


def _usable(session: Session, partner_id: int) -> list[PartnerCredential]:
    return list(
        session.scalars(
            select(PartnerCredential)
            .where(PartnerCredential.partner_id == partner_id, PartnerCredential.status != REVOKED)
            .order_by(PartnerCredential.id)
        )
    )


def issue_credential(
    session: Session, *, partner_id: int, actor: str, now: dt.datetime
) -> tuple[PartnerCredential, str]:
    """A new active secret (returned once, stored encrypted); a current one becomes retiring."""
    partner = get_partner(session, partner_id)
    usable = _usable(session, partner.id)
    if any(c.status == RETIRING for c in usable):
        raise rules.TooManyCredentials()
    for cred in usable:
        cred.status = RETIRING
    secret = secrets.token_urlsafe(32)
    cred = PartnerCredential(
        partner_id=partner.id,
        client_id="pk_" + secrets.token_hex(12),
        secret_enc=vault.encrypt_text(secret),
        status=ACTIVE_CRED,
        created_at=now,
    )
    session.add(cred)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="partner.credential_issued",
        target=f"partner:{partner.id}",
        data={"client_id": cred.client_id},
        now=now,
    )
    return cred, secret


def revoke_credential(
    session: Session, *, client_id: str, actor: str, now: dt.datetime
) -> PartnerCredential:
    """Revoke a secret at once; revoking twice changes nothing."""
    cred = session.scalar(select(PartnerCredential).where(PartnerCredential.client_id == client_id))
    if cred is None:
        raise rules.CredentialNotFound(client_id)
    if cred.status != REVOKED:
        cred.status, cred.revoked_at = REVOKED, now
        audit.record(
            session,
            actor=actor,
            action="partner.credential_revoked",
            target=f"partner:{cred.partner_id}",
            data={"client_id": client_id},
            now=now,
        )
        session.flush()
    return cred


def signing_secret(session: Session, partner_id: int) -> tuple[str, str] | None:
    """(client_id, secret) of the partner's newest active credential, to sign our webhooks."""
    cred = session.scalar(
        select(PartnerCredential)
        .where(PartnerCredential.partner_id == partner_id, PartnerCredential.status == ACTIVE_CRED)
        .order_by(PartnerCredential.id.desc())
        .limit(1)
    )
    return None if cred is None else (cred.client_id, vault.decrypt_text(cred.secret_enc))


def authenticate(
    session: Session,
    *,
    client_id: str,
    timestamp: str,
    signature: str,
    method: str,
    path: str,
    body: bytes,
    now: dt.datetime,
    nonce: str = "",
) -> Partner:
    """The partner behind a fresh, correctly signed, never-seen request; else BadSignature.
    A rejected partner's correctly signed request is refused (PartnerRejected); what a
    suspended one may still do is checked by each call (`rules.check_may_trade`)."""
    try:
        ts = int(timestamp)
    except ValueError:
        raise rules.BadSignature("X-Timestamp must be unix seconds") from None
    if not signing.nonce_is_valid(nonce):
        raise rules.BadSignature("X-Nonce must be 8 to 64 characters of A-Z a-z 0-9 - _")
    rules.check_fresh(ts, now)
    cred = session.scalar(_LIVE_CREDENTIAL, {"client_id": client_id})
    if cred is None or not signing.matches(
        vault.decrypt_text(cred.secret_enc), method, path, body, ts, signature, nonce
    ):
        raise rules.BadSignature()
    _remember(session, signature.strip().lower(), ts, now)
    partner = get_partner(session, cred.partner_id)
    rules.check_may_call(partner.status)
    return partner


def _remember(session: Session, sig: str, ts: int, now: dt.datetime) -> None:
    expires = dt.datetime.fromtimestamp(ts, dt.UTC) + rules.FRESHNESS + dt.timedelta(seconds=1)
    table = table_of(SeenSignature)
    stmt = insert_returning(
        table, session.get_bind().dialect.name, unless="signature", returning="signature"
    )
    if session.execute(stmt, {"signature": sig, "expires_at": expires}).scalar() is None:
        raise rules.BadSignature("this request was already received (replay)")
    if sig.startswith("00"):  # about 1 request in 256 clears the expired part of the cache
        session.execute(delete(SeenSignature).where(SeenSignature.expires_at < now))
