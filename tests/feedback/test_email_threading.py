"""An answer from the desk to a complaint that came by email threads in the citizen's client.

Real mail in over SMTP to the desk's listener, the agent's answer out over SMTP to the test
server: the answer carries In-Reply-To / References naming the citizen's mail, and the citizen's
next mail, which references our answer, joins the same ticket by those headers alone.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from prakerja.feedback import service_ticket, smtp_inbound
from prakerja.feedback.model import Message, Reply
from prakerja.kit import jobs, notify
from prakerja.kit.clock import utc_now
from tests.livesrv import free_port


@pytest.fixture
def listener(db):
    controller = smtp_inbound.start(db, host="127.0.0.1", port=free_port())
    yield controller
    controller.stop()


def _citizen(db) -> str:
    return f"rina-{db.engine.dialect.name}@example.id"


def _send(listener, msg: EmailMessage | bytes, sender: str) -> None:
    with smtplib.SMTP(listener.hostname, listener.port, timeout=10) as smtp:
        if isinstance(msg, bytes):
            smtp.sendmail(sender, ["pengaduan@prakerja.local"], msg)
        else:
            smtp.send_message(msg)


def _mail(
    sender: str,
    body: str,
    *,
    msg_id: str,
    subject: str = "Saldo tidak masuk",
    references: str | None = None,
    in_reply_to: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = f"Rina <{sender}>", "pengaduan@prakerja.local"
    msg["Subject"], msg["Message-ID"] = subject, msg_id
    if references:
        msg["References"] = references
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return msg


def _ticket_of(db, source_id: str) -> int:
    with db.transaction() as s:
        return s.scalar(select(Message.ticket_id).where(Message.source_id == source_id))


def test_the_answer_threads_under_the_citizens_mail_and_their_next_mail_joins_the_ticket(
    db, listener, smtp_server
):
    citizen = _citizen(db)
    _send(
        listener,
        _mail(
            citizen,
            "Saldo pelatihan saya belum masuk sejak kemarin, tolong.",
            msg_id="<t1@mail.example.id>",
        ),
        citizen,
    )
    _send(
        listener,
        _mail(
            citizen,
            "Halo? Masih belum masuk juga.",
            msg_id="<t2@mail.example.id>",
            subject="Re: Saldo tidak masuk",
            references="<t1@mail.example.id>",
            in_reply_to="<t1@mail.example.id>",
        ),
        citizen,
    )
    ticket_id = _ticket_of(db, "<t1@mail.example.id>")
    assert ticket_id is not None
    assert _ticket_of(db, "<t2@mail.example.id>") == ticket_id
    with db.transaction() as s:
        service_ticket.reply(
            s, ticket_id=ticket_id, agent_id=1, body="Sedang kami cek, Kak.", now=utc_now()
        )
    jobs.run_until_idle(db)
    answer = smtp_server.wait_for(citizen)
    assert answer["In-Reply-To"] == "<t2@mail.example.id>"
    assert answer["References"] == "<t1@mail.example.id> <t2@mail.example.id>"
    with db.transaction() as s:
        sent = s.get(notify.Notification, s.scalar(select(Reply.notification_id)))
        assert answer["Message-ID"] == sent.headers["Message-ID"]
    ours = answer["Message-ID"]

    # the citizen answers from a client that rewrote the subject: only the headers tie it
    _send(
        listener,
        _mail(
            citizen,
            "Sudah masuk, terima kasih.",
            msg_id="<t3@mail.example.id>",
            subject="Saldo",
            in_reply_to=ours,
            references=f"<t1@mail.example.id> <t2@mail.example.id> {ours}",
        ),
        citizen,
    )
    assert _ticket_of(db, "<t3@mail.example.id>") == ticket_id

    with db.transaction() as s:  # the closing message threads under the newest mail
        service_ticket.resolve(s, ticket_id=ticket_id, agent_id=1, code="fixed", now=utc_now())
    jobs.run_until_idle(db)
    closing = smtp_server.wait_for(citizen, count=2)
    assert closing["In-Reply-To"] == "<t3@mail.example.id>"
    assert closing["References"] == "<t1@mail.example.id> <t3@mail.example.id>"
    assert closing["Message-ID"] not in (ours, None)


def test_a_mail_without_message_id_gets_an_answer_without_threading_headers(
    db, listener, smtp_server
):
    citizen = _citizen(db)
    raw = (
        f"From: {citizen}\r\nTo: pengaduan@prakerja.local\r\nSubject: Akun diblokir\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Akun saya diblokir padahal tidak salah apa-apa, kecewa sekali.\r\n"
    ).encode()
    _send(listener, raw, citizen)
    with db.transaction() as s:
        message = s.scalar(select(Message))
        assert message.source_id.endswith("@inbound>")
        service_ticket.reply(
            s, ticket_id=message.ticket_id, agent_id=1, body="Kami cek ya.", now=utc_now()
        )
    jobs.run_until_idle(db)
    answer = smtp_server.wait_for(citizen)
    assert answer["In-Reply-To"] is None
    assert answer["References"] is None
    assert answer["Message-ID"].endswith("@prakerja.local>")


def test_an_answer_to_a_complaint_from_the_web_form_carries_no_threading_headers(db, smtp_server):
    from prakerja.feedback.intake_rules import Incoming
    from prakerja.feedback.service_intake import ingest

    citizen = _citizen(db)
    with db.transaction() as s:
        message, _ = ingest(
            s,
            Incoming(
                channel="web",
                source_id="web-1",
                received_at=utc_now(),
                author_email=citizen,
                body="Sertifikat saya tidak bisa diunduh, gagal terus, kecewa.",
            ),
            now=utc_now(),
        )
        service_ticket.reply(
            s, ticket_id=message.ticket_id, agent_id=1, body="Kami cek ya.", now=utc_now()
        )
    jobs.run_until_idle(db)
    answer = smtp_server.wait_for(citizen)
    assert answer["In-Reply-To"] is None
    assert answer["References"] is None
