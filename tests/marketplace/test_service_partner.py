"""Curation steps are recorded and audited; credentials rotate without downtime."""

import pytest
from sqlalchemy import select

from prakerja.kit import audit
from prakerja.kit.audit import AuditEntry
from prakerja.marketplace import rules, service_partner
from tests.marketplace.conftest import NOW, make_partner


def test_every_curation_step_is_in_the_history_and_the_audit_chain(session):
    partner = make_partner(session, "provider", code="lp-maju")
    service_partner.warn(
        session, partner_id=partner.id, actor="staff:7", now=NOW, note="late certificates"
    )
    steps = [(h.from_status, h.to_status) for h in service_partner.history(session, partner.id)]
    assert steps == [
        (None, "applied"),
        ("applied", "due_diligence"),
        ("due_diligence", "assessment"),
        ("assessment", "approved"),
        ("approved", "active"),
        ("active", "warned"),
    ]
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.target == f"partner:{partner.id}")
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "partner.applied",
        "partner.due_diligence",
        "partner.assessment",
        "partner.approved",
        "partner.active",
        "partner.warned",
    ]
    assert audit.verify(session).ok


def test_a_refused_step_changes_nothing(session):
    partner = make_partner(session, "platform", active=False)
    with pytest.raises(rules.BadTransition):
        service_partner.approve(session, partner_id=partner.id, actor="staff", now=NOW)
    assert partner.status == "applied"
    assert len(service_partner.history(session, partner.id)) == 1


def test_a_rejected_partner_stays_rejected(session):
    partner = make_partner(session, "platform", active=False)
    service_partner.reject(session, partner_id=partner.id, actor="staff", now=NOW)
    with pytest.raises(rules.BadTransition):
        service_partner.advance(
            session, partner_id=partner.id, to="due_diligence", actor="staff", now=NOW
        )


def test_a_duplicate_code_or_a_bad_kind_is_refused(session):
    make_partner(session, "platform", code="dupe")
    with pytest.raises(rules.PartnerExists):
        make_partner(session, "platform", code="dupe")
    with pytest.raises(rules.BadPartner):
        service_partner.apply(session, code="x1", name="X", kind="bank", actor="t", now=NOW)


def test_a_third_secret_needs_the_retiring_one_revoked_first(session):
    partner = make_partner(session, "platform")
    first, _ = service_partner.issue_credential(session, partner_id=partner.id, actor="t", now=NOW)
    second, _ = service_partner.issue_credential(session, partner_id=partner.id, actor="t", now=NOW)
    assert (first.status, second.status) == ("retiring", "active")
    with pytest.raises(rules.TooManyCredentials):
        service_partner.issue_credential(session, partner_id=partner.id, actor="t", now=NOW)
    service_partner.revoke_credential(session, client_id=first.client_id, actor="t", now=NOW)
    third, _ = service_partner.issue_credential(session, partner_id=partner.id, actor="t", now=NOW)
    assert (second.status, third.status) == ("retiring", "active")


def test_the_secret_is_stored_encrypted(session):
    partner = make_partner(session, "platform")
    cred, secret = service_partner.issue_credential(
        session, partner_id=partner.id, actor="t", now=NOW
    )
    assert secret.encode() not in bytes(cred.secret_enc)
    assert service_partner.signing_secret(session, partner.id) == (cred.client_id, secret)
