"""Working tickets: routing and SLA, reply, merge, escalate, resolve with survey, corrections,
links to the failing record and the update when it heals."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from prakerja.feedback import jobs as desk_jobs
from prakerja.feedback import linking, routing, service_ticket
from prakerja.feedback.model import Message, Ticket, TriageCorrection
from prakerja.feedback.service_intake import ingest
from prakerja.identity import vault
from prakerja.kit import jobs
from prakerja.kit.errors import DomainError
from prakerja.kit.notify import Notification
from prakerja.registration.model import Person

from .desk_helpers import NOW, chat, make_account


def _ticket(db, text: str, source: str = "t1", **kw) -> int:
    with db.transaction() as s:
        msg, _ = ingest(s, chat(source, text, **kw), now=NOW)
        return msg.ticket_id


def test_urgent_fraud_reports_get_a_short_first_response_deadline(db):
    ticket_id = _ticket(
        db, "ada penipuan! orang minta transfer uang untuk daftar prakerja, katanya joki resmi"
    )
    with db.transaction() as s:
        t = s.get(Ticket, ticket_id)
        assert t.priority == 0
        assert t.topic == "fraud_report"
        assert t.owner_team == "trust_safety"
        assert t.first_response_due - NOW <= dt.timedelta(minutes=30)


def test_sla_breaches_alert_operators_once(db):
    operator = make_account(db, roles="operator")
    _ticket(db, "sertifikat saya belum muncul", author_email="a@example.id")
    late = NOW + dt.timedelta(days=30)
    with db.transaction() as s:
        assert routing.scan_breaches(s, now=late) == {"first_response": 1, "resolution": 1}
        assert routing.scan_breaches(s, now=late) == {"first_response": 0, "resolution": 0}
        sent = s.scalars(select(Notification).where(Notification.recipient == operator.email)).all()
    assert len(sent) == 1
    assert "SLA" in sent[0].subject


def test_reply_goes_by_sms_when_only_a_phone_is_known_and_stops_the_first_sla(db):
    ticket_id = _ticket(db, "otp gak masuk", author_phone="0812-3456-7890")
    with db.transaction() as s:
        out = service_ticket.reply(
            s, ticket_id=ticket_id, agent_id=5, body="Coba lagi ya Kak", now=NOW
        )
        t = s.get(Ticket, ticket_id)
        assert out.channel == "sms"
        assert t.first_response_at == NOW
        assert t.status == "open"
        assert s.scalar(select(Notification.recipient)) == "+6281234567890"
    with db.transaction() as s, pytest.raises(DomainError):
        service_ticket.reply(s, ticket_id=ticket_id, agent_id=5, body="   ", now=NOW)


def test_merge_moves_messages_and_closes_the_duplicate(db):
    a = _ticket(db, "insentif belum cair", "m1", author_email="x@example.id")
    b = _ticket(db, "insentif saya belum cair juga", "m2", author_email="y@example.id")
    with db.transaction() as s:
        service_ticket.merge(s, ticket_id=b, into_id=a, agent_id=1, now=NOW)
        assert {m.ticket_id for m in s.scalars(select(Message))} == {a}
        dup = s.get(Ticket, b)
        assert (dup.status, dup.merged_into_id) == ("closed", a)
    with db.transaction() as s, pytest.raises(DomainError):
        service_ticket.merge(s, ticket_id=b, into_id=a, agent_id=1, now=NOW)


def test_escalation_sends_masked_evidence_to_the_partner(db):
    ticket_id = _ticket(
        db, "voucher kelas tidak terkirim, NIK 3201234567890001", author_email="z@example.id"
    )
    with db.transaction() as s:
        s.get(Ticket, ticket_id).partner = "skillacademy"
        how = service_ticket.escalate(s, ticket_id=ticket_id, agent_id=1, note="mohon cek", now=NOW)
        note = s.scalar(
            select(Notification).where(
                Notification.recipient == "skillacademy@partners.prakerja.local"
            )
        )
        assert how == "email"
        assert s.get(Ticket, ticket_id).status == "waiting_partner"
    assert "3201********0001" in note.body
    assert "3201234567890001" not in note.body
    assert "z@example.id" not in note.body


def test_resolving_tells_the_citizen_and_the_survey_takes_one_score(db):
    ticket_id = _ticket(db, "sertifikat belum muncul", author_email="s@example.id")
    with db.transaction() as s:
        with pytest.raises(DomainError):
            service_ticket.resolve(s, ticket_id=ticket_id, agent_id=1, code="whatever", now=NOW)
        t = service_ticket.resolve(
            s, ticket_id=ticket_id, agent_id=1, code="partner_fixed", now=NOW
        )
        token = t.csat_token
        body = s.scalar(select(Notification.body).where(Notification.recipient == "s@example.id"))
    assert f"/complaints/survey/{token}" in body
    with db.transaction() as s:
        assert service_ticket.submit_csat(s, token=token, score=4, now=NOW).csat_score == 4
    with db.transaction() as s, pytest.raises(DomainError):
        service_ticket.submit_csat(s, token=token, score=5, now=NOW)


def test_a_new_message_on_a_resolved_thread_reopens_it(db):
    ticket_id = _ticket(db, "otp gak masuk", "r1", thread_id="sess")
    with db.transaction() as s:
        service_ticket.resolve(s, ticket_id=ticket_id, agent_id=1, code="explained", now=NOW)
    assert _ticket(db, "masih gak masuk", "r2", thread_id="sess") == ticket_id
    with db.transaction() as s:
        assert s.get(Ticket, ticket_id).status == "open"


def test_corrections_reroute_and_become_training_records(db):
    ticket_id = _ticket(db, "saya bingung")
    with db.transaction() as s:
        msg = s.scalar(select(Message))
        service_ticket.correct_triage(
            s, message_id=msg.id, agent_id=2, field="topic", value="incentive_payment", now=NOW
        )
        assert s.get(Ticket, ticket_id).owner_team == "payments"
        assert s.scalar(select(TriageCorrection.new)) == "incentive_payment"
        records = service_ticket.corrections_as_records(s)
        with pytest.raises(DomainError):
            service_ticket.correct_triage(
                s, message_id=msg.id, agent_id=2, field="topic", value="nonsense", now=NOW
            )
    assert records == [{"text": "saya bingung", "topic": "incentive_payment"}]


def _person(db, *, status: str) -> tuple[int, int, str]:
    citizen = make_account(db)
    nik = "3201" + str(uuid.uuid4().int)[:12]
    with db.transaction() as s:
        p = Person(
            account_id=citizen.id,
            nik_bidx=vault.blind_index(nik, "nik"),
            regency_code="3201",
            registry_status=status,
            created_at=NOW,
            updated_at=NOW,
        )
        s.add(p)
        s.flush()
        return citizen.id, p.id, nik


def test_a_nik_in_the_text_links_the_person_and_the_registry_mismatch(db):
    account_id, person_id, nik = _person(db, status="mismatch")
    ticket_id = _ticket(db, f"NIK saya {nik} katanya tidak cocok dukcapil")
    with db.transaction() as s:
        t = s.get(Ticket, ticket_id)
        assert (t.account_id, t.person_id, t.region) == (account_id, person_id, "3201")
        assert t.linked_record == {
            "kind": "registration.registry",
            "id": person_id,
            "status": "mismatch",
        }
    assert linking.hint(t.linked_record) is not None


def test_when_the_record_heals_the_ticket_is_resolved_and_the_citizen_told(db):
    _, person_id, nik = _person(db, status="mismatch")
    ticket_id = _ticket(db, f"NIK {nik} tidak cocok", author_email="heal@example.id")
    with db.transaction() as s:
        linking.notify_record_healed(s, kind="registration.registry", record_id=person_id, now=NOW)
    jobs.run_until_idle(db)
    with db.transaction() as s:
        assert s.get(Ticket, ticket_id).status == "new"  # not healed yet: nothing changes
        s.get(Person, person_id).registry_status = "matched"
        desk_jobs.recheck_links(s, now=NOW + dt.timedelta(minutes=1))
    jobs.run_until_idle(db)
    with db.transaction() as s:
        t = s.get(Ticket, ticket_id)
        assert (t.status, t.resolution_code) == ("resolved", "fixed_at_source")
        told = s.scalar(
            select(Notification.body).where(Notification.recipient == "heal@example.id")
        )
        assert told.startswith(
            "Kabar baik: masalah pada pemeriksaan data kependudukan Anda sudah diperbaiki."
        )
        assert "registration.registry" not in told


def test_a_blocked_account_is_linked_by_the_email_it_wrote_from(db):
    who = make_account(db, status="blocked")
    ticket_id = _ticket(db, "akun saya diblokir", author_email=who.email.upper())
    with db.transaction() as s:
        assert s.get(Ticket, ticket_id).linked_record["kind"] == "identity.account"


def test_canned_replies_fill_known_placeholders_only():
    assert (
        service_ticket.fill("Halo {nama}, tiket {tiket} {x.__class__}", nama="Siti", tiket="ab12")
        == "Halo Siti, tiket ab12 {x.__class__}"
    )
