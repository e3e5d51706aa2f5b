"""kit.notify: threading headers on an email are checked when queued and delivered over SMTP."""

import datetime as dt

import pytest
from sqlalchemy import select

from prakerja.kit import jobs, notify

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


def _note(session, **email):
    """The notification row an email was queued as."""
    return session.get(notify.Notification, notify.send_email(session, **email))


@pytest.mark.parametrize(
    "headers",
    [
        {"Bcc": "x@example.id"},
        {"Message-ID": "<mine@example.id>"},  # we generate it
        {"In-Reply-To\r\nBcc": "<a@example.id>"},
        {"In-Reply-To\r\n": "<a@example.id>"},
        {"In-Reply-To": "<a@example.id>\r\nBcc: x@example.id"},
        {"References": "<a@example.id>\n <b@example.id>"},
        {"References": "<a@example.id>  <b@example.id>"},
        {"In-Reply-To": "a@example.id"},
        {"In-Reply-To": "<a b@example.id>"},
        {"In-Reply-To": "<ä@example.id>"},
        {"In-Reply-To": ""},
        {"References": " ".join(f"<r{i}@example.id>" for i in range(notify.MAX_REFERENCES + 1))},
    ],
)
def test_only_threading_headers_with_message_ids_are_accepted(session, headers):
    with pytest.raises(notify.BadHeader):
        notify.send_email(
            session, to="a@example.id", subject="s", body="b", now=NOW, headers=headers
        )
    assert session.scalar(select(notify.Notification)) is None


def test_names_are_spelled_canonically_and_the_message_id_is_fixed_when_queued(session):
    note = _note(
        session,
        to="a@example.id",
        subject="s",
        body="b",
        now=NOW,
        headers={"in-reply-to": "<a@example.id>", "REFERENCES": "<r@example.id> <a@example.id>"},
    )
    assert set(note.headers) == {"Message-ID", "In-Reply-To", "References"}
    assert notify.MESSAGE_ID.fullmatch(note.headers["Message-ID"])
    assert note.headers["Message-ID"].endswith("@prakerja.local>")
    other = _note(session, to="a@example.id", subject="s", body="b", now=NOW)
    assert set(other.headers) == {"Message-ID"}
    assert other.headers["Message-ID"] != note.headers["Message-ID"]
    sms = notify.send_sms(session, to="+6281299990001", body="b", now=NOW)
    assert session.get(notify.Notification, sms).headers is None


def test_the_delivered_email_carries_its_headers(db, smtp_server):
    address = f"thread-{db.engine.dialect.name}@example.id"
    with db.transaction() as s:
        note = _note(
            s,
            to=address,
            subject="Re: OTP",
            body="Sudah kami cek.",
            now=NOW,
            headers={
                "In-Reply-To": "<q2@example.id>",
                "References": "<q1@example.id> <q2@example.id>",
            },
        )
        own = note.headers["Message-ID"]
    jobs.run_until_idle(db)
    mail = smtp_server.wait_for(address)
    assert mail["Message-ID"] == own
    assert mail["In-Reply-To"] == "<q2@example.id>"
    assert mail["References"] == "<q1@example.id> <q2@example.id>"
    assert mail["Bcc"] is None
