"""Intake from every channel: files imported once, bad rows reported, hostile text kept inert."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from prakerja.feedback import connectors
from prakerja.feedback.model import BODY_CAP, Message, Ticket
from prakerja.feedback.service_intake import ingest, ingest_many
from prakerja.identity import vault

from .desk_helpers import NOW, chat, form_token, make_account

CHAT_CSV = (
    b"session_id,message_id,sent_at,author_name,author_email,author_phone,text\n"
    b"s1,m1,2026-03-02T08:00:00+07:00,Siti,siti@example.id,,OTP gak masuk2 dari tadi min\n"
    b"s1,m2,2026-03-02T08:01:00+07:00,Siti,siti@example.id,,udh coba 3x tetep gak masuk\n"
    b"s2,m3,not-a-date,Budi,,081234567890,sertifikat blm muncul\n"
    b"s3,m4,2026-03-02 09:00,Ani,,,insentif saya belum cair padahal sudah 2 minggu\n"
)


def _count(db) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(Message)))


def test_a_chat_file_imported_twice_adds_nothing_the_second_time(db):
    with db.transaction() as s:
        first = connectors.import_file(s, connectors.ChatCsv(), CHAT_CSV, now=NOW)
    assert len(first.created) == 3
    assert [row for row, _ in first.errors] == [4]  # the bad date, named by file line
    with db.transaction() as s:
        second = connectors.import_file(s, connectors.ChatCsv(), CHAT_CSV, now=NOW)
    assert second.created == []
    assert second.duplicates == 3
    assert _count(db) == 3
    with db.transaction() as s:
        rows = s.execute(select(Message.thread_id, Message.ticket_id).order_by(Message.id)).all()
    assert rows[0] == rows[1]  # one chat session, one thread, one ticket
    assert rows[2][1] != rows[0][1]


def test_call_notes_and_social_exports_go_in_with_their_own_channels(db):
    calls = (
        b"call_id,started_at,caller_name,caller_phone,note,region\n"
        b"c-1,2026-03-02T07:55:00Z,Pak Joko,0812-1111-2222,Penelepon bilang akun diblokir "
        b"setelah ganti HP,3201\n"
    )
    social = json.dumps(
        {
            "comments": [
                {
                    "id": "1",
                    "platform": "instagram",
                    "created_at": "2026-03-02T07:00:00Z",
                    "username": "@rina",
                    "text": "admin kok insentif blm cair udh sebulan 😡",
                },
                {
                    "id": "2",
                    "platform": "instagram",
                    "created_at": 1772434800,
                    "username": "@doni",
                    "text": "Mantap programnya, makasih min! 👍",
                },
                {"id": "3", "platform": "instagram", "created_at": "yesterday", "text": "x"},
                "not an object",
            ]
        }
    ).encode()
    social_csv = (
        b"id,platform,created_at,username,text\n"
        b"9,x,2026-03-02T07:10:00Z,@wawan,hati2 ada situs palsu minta bayar daftar\n"
    )
    with db.transaction() as s:
        call_report = connectors.import_file(s, connectors.CallCsv(), calls, now=NOW)
        social_report = connectors.import_file(s, connectors.SocialJson(), social, now=NOW)
        csv_report = connectors.import_file(s, connectors.SocialCsv(), social_csv, now=NOW)
    assert len(call_report.created) == 1
    assert not call_report.errors
    assert len(social_report.created) == 2
    assert [r for r, _ in social_report.errors] == [3, 4]
    assert len(csv_report.created) == 1
    with db.transaction() as s:
        msgs = {m.source_id: m for m in s.scalars(select(Message))}
        assert msgs["c-1"].channel == "call"
        assert msgs["c-1"].region == "3201"
        assert msgs["instagram:1"].sentiment == "negative"
        assert msgs["instagram:2"].ticket_id is None  # public praise opens no ticket
        assert msgs["x:9"].author_handle == "@wawan"


def test_a_file_with_missing_columns_is_refused_row_by_row_without_storing_anything(db):
    with db.transaction() as s:
        report = connectors.import_file(s, connectors.ChatCsv(), b"foo,bar\n1,2\n", now=NOW)
    assert report.created == []
    assert "missing columns" in report.errors[0][1]
    assert _count(db) == 0


def test_script_huge_and_binary_messages_are_stored_safely(db):
    huge = "tolong " * (BODY_CAP // 3)
    rows = [
        chat("x1", "<script>alert('x')</script> otp gak masuk"),
        chat("x2", huge),
        chat("x3", b"\x00\xff\xfe\x89PNG binary \x00 junk"),
    ]
    with db.transaction() as s:
        report = ingest_many(s, rows, now=NOW)
    assert len(report.created) == 3
    with db.transaction() as s:
        msgs = {m.source_id: m for m in s.scalars(select(Message))}
    assert msgs["x1"].body.startswith("<script>")  # stored as given, escaped when shown
    assert len(msgs["x2"].body) == BODY_CAP
    assert msgs["x2"].body_truncated
    assert "\x00" not in msgs["x3"].body
    assert "\ufffd" in msgs["x3"].body


def test_hostile_text_is_shown_inert_on_the_desk(db, client):
    agent = make_account(db, roles="agent")
    with db.transaction() as s:
        msg, created = ingest(
            s, chat("evil", "<script>alert(1)</script><img src=x onerror=1>"), now=NOW
        )
        ticket_id = msg.ticket_id
    assert created
    page = agent.login(client).get(f"/desk/tickets/{ticket_id}")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)" in page.text
    assert "<img src=x" not in page.text


def test_personal_data_is_masked_for_agents_not_assigned_and_shown_to_the_assigned_one(db, client):
    first, second = make_account(db, roles="agent"), make_account(db, roles="agent")
    with db.transaction() as s:
        msg, _ = ingest(
            s, chat("pii", "NIK saya 3201234567890001 hp 081234567890 gak bisa daftar"), now=NOW
        )
    page = second.login(client).get(f"/desk/tickets/{msg.ticket_id}")
    assert "3201234567890001" not in page.text
    assert "3201********0001" in page.text
    client.cookies.clear()
    token = form_token(first.login(client), f"/desk/tickets/{msg.ticket_id}")
    client.post(f"/desk/tickets/{msg.ticket_id}/take", data={"csrf_token": token})
    assert "3201234567890001" in client.get(f"/desk/tickets/{msg.ticket_id}").text


def test_staff_post_chat_transcripts_and_call_notes_through_the_api(db, client):
    staff = make_account(db, roles="agent")
    body = {
        "messages": [
            {
                "session_id": "s9",
                "message_id": "api-1",
                "sent_at": "2026-03-02T08:00:00Z",
                "text": "akun saya diblokir",
            }
        ]
    }
    staff.login(client)
    assert client.post("/api/v1/feedback/chat-transcripts", json=body).json()["created"] == 1
    assert client.post("/api/v1/feedback/chat-transcripts", json=body).json()["duplicates"] == 1
    notes = {
        "notes": [
            {
                "call_id": "k1",
                "started_at": "2026-03-02T08:00:00Z",
                "note": "penelepon minta info gelombang",
            }
        ]
    }
    assert client.post("/api/v1/feedback/call-notes", json=notes).json()["created"] == 1
    bad = client.post("/api/v1/feedback/call-notes", json={"notes": []})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_citizens_cannot_post_transcripts(db, client):
    make_account(db).login(client)
    resp = client.post(
        "/api/v1/feedback/chat-transcripts",
        json={
            "messages": [
                {
                    "session_id": "s",
                    "message_id": "m",
                    "sent_at": "2026-03-02T08:00:00Z",
                    "text": "x",
                }
            ]
        },
    )
    assert resp.status_code == 403


def test_a_citizen_complains_through_the_api_and_only_they_can_read_the_ticket(db, client):
    owner, other = make_account(db), make_account(db)
    owner.login(client)
    made = client.post(
        "/api/v1/feedback/complaints",
        json={"subject": "Sertifikat", "text": "sertifikat saya belum muncul"},
    )
    assert made.status_code == 201
    ticket = made.json()["id"]
    assert client.get(f"/api/v1/feedback/tickets/{ticket}").json()["messages"][0]["text"]
    client.cookies.clear()
    other.login(client)
    assert client.get(f"/api/v1/feedback/tickets/{ticket}").status_code == 404


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_anonymous_people_complain_with_an_encrypted_id_photo(db, client):
    token = form_token(client, "/complaints/new")
    resp = client.post(
        "/complaints/new",
        data={
            "csrf_token": token,
            "subject": "Tidak bisa login",
            "text": "akun saya tidak bisa masuk",
            "name": "Wati",
            "email": "wati@example.id",
        },
        files={"photo": ("ktp.png", PNG, "image/png")},
    )
    assert resp.status_code == 200
    assert 'id="ticket-no"' in resp.text
    with db.transaction() as s:
        msg = s.scalar(select(Message))
        assert msg.attachment_type == "image/png"
        assert msg.attachment_enc != PNG
        assert vault.decrypt(msg.attachment_enc) == PNG
        assert s.get(Ticket, msg.ticket_id).contact_email == "wati@example.id"


def test_an_upload_that_is_not_an_image_is_refused_and_nothing_is_stored(db, client):
    token = form_token(client, "/complaints/new")
    resp = client.post(
        "/complaints/new",
        data={
            "csrf_token": token,
            "subject": "Foto",
            "text": "ini foto ktp saya",
            "email": "a@example.id",
        },
        files={"photo": ("ktp.png", b"<?php evil();", "image/png")},
    )
    assert resp.status_code == 422
    assert _count(db) == 0


def test_anonymous_people_must_say_how_to_reach_them(db, client):
    token = form_token(client, "/complaints/new")
    resp = client.post(
        "/complaints/new", data={"csrf_token": token, "subject": "Halo", "text": "saya mau tanya"}
    )
    assert resp.status_code == 422
    assert _count(db) == 0


def test_logged_in_citizens_see_their_complaints(db, client):
    citizen = make_account(db)
    citizen.login(client)
    token = form_token(client, "/complaints/new")
    client.post(
        "/complaints/new",
        data={
            "csrf_token": token,
            "subject": "Insentif belum cair",
            "text": "insentif saya belum masuk ke rekening",
        },
    )
    page = client.get("/complaints")
    assert page.status_code == 200
    assert "Insentif belum cair" in page.text


def test_a_citizen_reads_the_desks_answer_on_their_complaint_and_nobody_else_can(db, client):
    import re

    from prakerja.feedback import service_ticket
    from prakerja.kit.clock import utc_now

    citizen, stranger = make_account(db), make_account(db)
    citizen.login(client)
    token = form_token(client, "/complaints/new")
    client.post(
        "/complaints/new",
        data={"csrf_token": token, "subject": "Kode OTP", "text": "kode OTP tidak masuk ke HP"},
    )
    listing = client.get("/complaints").text
    link = re.search(r'href="(/complaints/[0-9a-f]+)">Kode OTP<', listing).group(1)
    waiting = client.get(link).text
    assert "kode OTP tidak masuk ke HP" in waiting
    assert 'id="no-reply"' in waiting
    with db.transaction() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.account_id == citizen.id)).one()
        service_ticket.reply(
            s, ticket_id=ticket.id, agent_id=1, body="Silakan coba kirim ulang kode.", now=utc_now()
        )
    answered = client.get(link).text
    assert answered.index("kode OTP tidak masuk ke HP") < answered.index("Silakan coba kirim")
    assert 'id="no-reply"' not in answered
    # the citizen writes more: the same ticket, after the answer
    token = form_token(client, link)
    sent = client.post(link, data={"csrf_token": token, "text": "Sudah, tetap tidak masuk."})
    assert sent.status_code == 200  # followed the redirect back to the page
    assert sent.text.index("Silakan coba kirim") < sent.text.index("Sudah, tetap tidak masuk.")
    refused = client.post(link, data={"csrf_token": token, "text": " "})
    assert refused.status_code == 422
    assert 'id="text-error"' in refused.text
    with db.transaction() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.account_id == citizen.id)
            )
            == 1
        )
        assert (
            s.scalar(
                select(func.count()).select_from(Message).where(Message.ticket_id == ticket.id)
            )
            == 2
        )
    stranger.login(client)
    assert client.get(link).status_code == 404
    assert "kode OTP" not in client.get(link).text
    token = form_token(client, "/complaints/new")
    assert (
        client.post(link, data={"csrf_token": token, "text": "tiket orang lain"}).status_code == 404
    )
    with db.transaction() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(Message).where(Message.body == "tiket orang lain")
            )
            == 0
        )
    client.cookies.clear()
    assert client.get(link, follow_redirects=False).status_code == 303  # to the login page
