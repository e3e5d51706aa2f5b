"""Demo data of feedback: a day and a half of citizen messages on every channel, so the desk,
its statistics and the public "you said, we fixed" page are not empty.

The messages are written here (synthetic, in the programme's most frequent topics) and go
through `service_intake.ingest_many` like any import: stored once, triaged by the active model,
linked to the demo logins that wrote them (and to an order named in the text), put on tickets
and routed. Public praise opens no ticket, as in production.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy.orm import Session

from prakerja.feedback import service_intake
from prakerja.feedback.intake_rules import Incoming

if TYPE_CHECKING:
    from prakerja.demo import DemoEnv


class Said(NamedTuple):
    """One message: channel, who wrote it (a DemoEnv key, a handle or ""), subject, text,
    hours before seeding. `{order}` in the text is the demo order in progress."""

    channel: str
    author: str
    subject: str
    text: str
    hours_ago: float


MESSAGES = (
    Said("web", "walker", "NIK tidak cocok",
         "Saya sudah isi NIK dan KK sesuai KTP tapi katanya data tidak sesuai Dukcapil. "
         "Tolong dibantu min.", 30),
    Said("chat", "", "", "Kode OTP login tidak masuk ke email, sudah kirim ulang 3 kali.", 27),
    Said("email", "recipient.learning", "Kode redeem sesi webinar",
         "Halo, saya sudah membeli Pemasaran Digital untuk UMKM (pesanan {order}). Kapan kode "
         "redeem sesi pertama muncul? Saya takut terlambat ikut webinar.", 5),
    Said("call", "recipient.to_review", "",
         "Penelepon menanyakan kapan insentif cair. Sertifikat sudah terbit, ulasan belum diisi;"
         " sudah dijelaskan ulasan wajib diisi dulu.", 3),
    Said("social", "@rina_umkm", "",
         "Sudah 3 gelombang gak lolos terus, kenapa ya min? Padahal data sudah lengkap", 20),
    Said("social", "@bangjago88", "",
         "Ada yang nawarin jasa daftar prakerja pasti lolos, bayar 200rb. Ini resmi gak sih?", 9),
    Said("social", "@dewi.sari", "",
         "Terima kasih Prakerja, pelatihan barista kemarin bermanfaat, sekarang saya kerja di "
         "kafe!", 12),
    Said("email", "", "Insentif tertahan",
         "Insentif saya gagal ditransfer ke e-wallet, statusnya dana tertahan. Harus bagaimana?",
         16),
    Said("chat", "", "", "Face check gagal terus padahal saya sudah berkedip, cahaya terang.", 8),
    Said("web", "", "Akun terblokir",
         "Akun saya terblokir setelah salah memasukkan kata sandi. Mohon dibuka kembali.", 14),
    Said("call", "", "",
         "Sertifikat belum muncul di dasbor padahal pelatihan selesai tiga hari lalu.", 22),
    Said("email", "", "Order not confirmed",
         "I bought a course but the platform has not confirmed my order yet and my balance is "
         "on hold. Please help.", 6),
    Said("chat", "", "",
         "Bagaimana cara menautkan rekening bank untuk insentif? Nomor HP di e-wallet saya beda.",
         2),
    Said("social", "@yanto_ps", "",
         "Link pendaftaran prakerja-resmi.xyz ini asli gak? Minta foto KTP sama kode OTP.", 1),
)  # fmt: skip


def demo_seed(session: Session, now: dt.datetime, env: DemoEnv) -> None:
    """Ingest the messages once (idempotent by channel and source id)."""
    items = [_incoming(n, said, now, env) for n, said in enumerate(MESSAGES, start=1)]
    report = service_intake.ingest_many(session, items, now=now)
    if report.errors:
        raise ValueError(f"demo messages refused: {report.as_dict()['errors']}")
    env.found["feedback.messages"] = str(len(report.created))


def _incoming(n: int, said: Said, now: dt.datetime, env: DemoEnv) -> Incoming:
    email = env.logins.walker if said.author == "walker" else env.found.get(said.author)
    if email is None and said.channel == "email":
        email = f"pengirim{n}@surel.example"
    handle = said.author if said.author.startswith("@") else ""
    return Incoming(
        channel=said.channel,
        source_id=f"demo-{said.channel}-{n}",
        thread_id=f"demo-chat-{n}" if said.channel == "chat" else None,
        received_at=now - dt.timedelta(hours=said.hours_ago),
        body=said.text.format(order=env.found.get("order.learning", "-")),
        subject=said.subject,
        author_handle=handle,
        author_email=email,
        author_phone=None if email or handle else f"+62813{n:08d}",
    )
