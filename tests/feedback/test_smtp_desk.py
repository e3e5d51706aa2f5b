"""Email end to end: real mail in over SMTP to the desk's listener, replies out by SMTP."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from prakerja.feedback import service_ticket, smtp_inbound
from prakerja.feedback.model import Message, Reply, Ticket
from prakerja.kit import jobs
from prakerja.kit.clock import utc_now
from tests.livesrv import free_port


@pytest.fixture
def listener(db):
    controller = smtp_inbound.start(db, host="127.0.0.1", port=free_port())
    yield controller
    controller.stop()


def _mail(
    msg_id: str, body: str, *, subject: str = "Sertifikat belum muncul", reply_to: str | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Siti <siti@example.id>", "pengaduan@prakerja.local"
    msg["Subject"], msg["Message-ID"] = subject, msg_id
    if reply_to:
        msg["In-Reply-To"] = msg["References"] = reply_to
    msg.set_content(body)
    return msg


def _send(listener, msg: EmailMessage) -> None:
    with smtplib.SMTP(listener.hostname, listener.port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_mail_in_becomes_one_message_and_a_reply_goes_out_by_email(db, listener, smtp_server):
    _send(listener, _mail("<a1@example.id>", "Sertifikat saya belum muncul padahal sudah lulus."))
    _send(listener, _mail("<a1@example.id>", "the same mail delivered twice"))
    _send(
        listener,
        _mail(
            "<a2@example.id>",
            "Halo, ada kabar?",
            subject="Re: Sertifikat",
            reply_to="<a1@example.id>",
        ),
    )
    with db.transaction() as s:
        msgs = s.scalars(select(Message).order_by(Message.id)).all()
        assert [m.source_id for m in msgs] == ["<a1@example.id>", "<a2@example.id>"]
        assert msgs[0].ticket_id == msgs[1].ticket_id  # threaded by In-Reply-To
        assert msgs[0].author_email == "siti@example.id"
        ticket_id = msgs[0].ticket_id
        service_ticket.reply(
            s, ticket_id=ticket_id, agent_id=1, body="Sedang kami cek, Kak.", now=utc_now()
        )
        public_id = s.get(Ticket, ticket_id).public_id
    jobs.run_until_idle(db)
    out = smtp_server.wait_for("siti@example.id")
    assert out["Subject"].endswith(f"[#{public_id}]")
    assert "Sedang kami cek" in out.get_content()
    with db.transaction() as s:
        assert s.scalar(select(Reply.in_reply_to)) == "<a2@example.id>"


def test_the_citizens_answer_to_our_reply_joins_the_ticket_by_its_subject_token(db, listener):
    _send(listener, _mail("<b1@example.id>", "OTP tidak masuk"))
    with db.transaction() as s:
        ticket = s.scalar(select(Ticket))
        token, ticket_id = ticket.public_id, ticket.id
    _send(listener, _mail("<b2@other.id>", "masih belum", subject=f"Re: OTP [#{token}]"))
    with db.transaction() as s:
        assert (
            s.scalar(select(Message.ticket_id).where(Message.source_id == "<b2@other.id>"))
            == ticket_id
        )


def test_a_strangers_mail_quoting_the_token_does_not_join_or_reopen_the_ticket(db, listener):
    _send(listener, _mail("<d1@example.id>", "OTP tidak masuk"))
    with db.transaction() as s:
        ticket = s.scalar(select(Ticket))
        token, ticket_id = ticket.public_id, ticket.id
        ticket.status = "resolved"
    stranger = _mail("<d2@evil.example>", "saya ikut", subject=f"Re: OTP [#{token}]")
    stranger.replace_header("From", "Mallory <mallory@evil.example>")
    _send(listener, stranger)
    with db.transaction() as s:
        joined = s.scalar(select(Message.ticket_id).where(Message.source_id == "<d2@evil.example>"))
        assert joined != ticket_id
        assert s.get(Ticket, ticket_id).status == "resolved"


def test_mail_for_other_addresses_is_refused_at_rcpt(db, listener):
    msg = _mail("<c1@example.id>", "halo")
    del msg["To"]
    msg["To"] = "someone@elsewhere.example"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(listener, msg)
    with db.transaction() as s:
        assert s.scalar(select(Message)) is None


def test_binary_junk_in_a_mail_is_stored_as_safe_text(db, listener):
    raw = (
        b"From: x@example.id\r\nTo: pengaduan@prakerja.local\r\nMessage-ID: <j1@x>\r\n"
        b"Subject: junk\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\x80 <script>x</script>\r\n"
    )
    with smtplib.SMTP(listener.hostname, listener.port, timeout=10) as smtp:
        smtp.sendmail("x@example.id", ["pengaduan@prakerja.local"], raw)
    with db.transaction() as s:
        body = s.scalar(select(Message.body))
    assert "<script>x</script>" in body
    assert "\x00" not in body
