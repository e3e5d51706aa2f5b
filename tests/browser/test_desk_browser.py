"""An agent works the desk queue in Chromium: open the most urgent ticket, take it, reply,
resolve it."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from prakerja.feedback.model import Ticket
from prakerja.feedback.service_intake import ingest_many
from prakerja.identity.service_session import COOKIE
from prakerja.kit.clock import utc_now
from tests.feedback.desk_helpers import chat, make_account


def test_an_agent_works_the_queue(db, page, live_url):
    now = utc_now()
    with db.transaction() as s:
        ingest_many(
            s,
            [
                chat("b1", "mau kasih saran", at=now),
                chat(
                    "b2",
                    "ada penipuan minta uang daftar, joki!",
                    at=now,
                    author_email="korban@example.id",
                ),
            ],
            now=now,
        )
    agent = make_account(db, roles="agent")
    page.context.add_cookies([{"name": COOKIE, "value": agent.token, "url": live_url}])
    page.goto("/desk")
    page.locator("#queue a").first.click()
    assert "penipuan" in page.locator("pre.body").first.inner_text()
    page.get_by_role("button", name="Ambil tiket ini").click()
    page.fill("#reply-body", "Terima kasih, laporan penipuan sudah kami teruskan.")
    page.get_by_role("button", name="Kirim balasan").click()
    assert "sudah kami teruskan" in page.locator("article.reply").first.inner_text()
    page.select_option("#code", "fraud_reported")
    page.get_by_role("button", name="Selesaikan").click()
    expect(page.locator("p.ok")).to_be_visible()
    with db.transaction() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.contact_email == "korban@example.id"))
        assert ticket.status == "resolved"
        assert ticket.assigned_agent_id == agent.id
