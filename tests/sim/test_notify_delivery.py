"""kit.notify delivers through the real SMTP server and the SMS gateway simulator."""

from __future__ import annotations

from sqlalchemy import select

from prakerja.kit import jobs, notify
from prakerja.kit.clock import utc_now


def test_an_email_and_an_sms_are_delivered_once_by_the_job(db, smtp_server, sms_sim):
    address = f"warga-{db.engine.dialect.name}@example.id"
    phone = "081299990001" if db.engine.dialect.name == "sqlite" else "081299990002"
    with db.transaction() as session:
        notify.send_email(
            session, to=address, subject="Kode masuk", body="Kode Anda: 482913", now=utc_now()
        )
        notify.send_sms(session, to=phone, body="Kode OTP Prakerja: 771204", now=utc_now())
    assert jobs.run_until_idle(db) >= 2
    mail = smtp_server.wait_for(address)
    assert mail["Subject"] == "Kode masuk"
    assert "482913" in smtp_server.latest_text(address)
    assert sms_sim.wait_for(phone) == ["Kode OTP Prakerja: 771204"]
    with db.transaction() as session:
        statuses = session.scalars(select(notify.Notification.status)).all()
    assert statuses == ["sent", "sent"]
    jobs.run_until_idle(db)
    assert len(smtp_server.messages(address)) == 1
    assert len(sms_sim.messages(phone)) == 1
