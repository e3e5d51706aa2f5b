"""A "[#ticket]" token joins a message to that ticket only from its reporter: the same account,
or a mail from the reporter's address; an address typed into the web form proves nothing."""

from __future__ import annotations

import uuid

from prakerja.feedback.model import Ticket
from prakerja.feedback.service_intake import ingest

from .desk_helpers import NOW, chat

EMAIL = "siti@example.id"


def _send(db, text: str, **who) -> int | None:
    with db.transaction() as s:
        message, _ = ingest(s, chat(uuid.uuid4().hex, text, **who), now=NOW)
        return message.ticket_id


def _reported(db) -> tuple[int, str]:
    ticket_id = _send(db, "Kode OTP tidak pernah masuk ke ponsel saya", channel="email",
                      author_email=EMAIL)  # fmt: skip
    assert ticket_id is not None
    with db.transaction() as s:
        return ticket_id, s.get(Ticket, ticket_id).public_id


def test_a_mail_from_the_reporter_quoting_the_token_joins(db):
    ticket_id, token = _reported(db)
    assert _send(db, "masih belum masuk kodenya", subject=f"Re: OTP [#{token}]",
                 channel="email", author_email=EMAIL.upper()) == ticket_id  # fmt: skip


def test_the_reporters_address_typed_into_the_web_form_does_not(db):
    ticket_id, token = _reported(db)
    joined = _send(db, "saya juga tidak menerima OTP sama sekali", subject=f"OTP [#{token}]",
                   channel="web", author_email=EMAIL)  # fmt: skip
    assert joined != ticket_id
    with db.transaction() as s:  # nor does the new ticket show the other one's id
        assert token not in s.get(Ticket, joined).subject
