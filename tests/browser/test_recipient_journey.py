"""The recipient's journey after selection, in Chromium: the card issued by the draw's job and
read on the card page, the course found by searching the catalogue and bought with the SMS code,
the order confirmed and its voucher redeemed by the simulated platform on our signed webhook,
each session redeemed and attended (face check on our page), completion and certificate
reported by the simulated platform over real HTTP, certificate downloaded and verified on the
public page, and the mandatory review given."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit import jobs
from prakerja.kit.db import Database
from prakerja.marketplace import service_catalogue, service_partner
from prakerja.marketplace.model import Order
from prakerja.registration.model import Person
from prakerja.selection.service_draw import ISSUE_CARD
from prakerja.settings import get_settings
from prakerja.sim.face import sample_image
from prakerja.sim.platform import API, PlatformClient, make_app, sample_courses
from prakerja.wallet import service_card
from tests.fixtures_sim import SmsSim, pointed_at
from tests.livesrv import free_port, serve
from tests.qr import qr_texts

pytestmark = pytest.mark.browser
PHONE = "+6281277880011"


@pytest.fixture
def app(db: Database, face_sim: Any, sms_sim: SmsSim, tmp_path: Path):  # type: ignore[no-untyped-def]
    from prakerja.app import create_app
    from prakerja.learning import signing

    with pointed_at(var_dir=str(tmp_path)):
        signing.reload()
        yield create_app(get_settings(), db)
    signing.reload()


def _partners(db: Database, webhook_url: str) -> tuple[str, str, str]:
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        ids = []
        for kind, code in (("platform", "sim-platform"), ("provider", "lp-maju")):
            partner = service_partner.apply(
                s,
                code=code,
                name=f"{code} Indonesia",
                kind=kind,
                actor="test",
                now=now,
                webhook_url=webhook_url if kind == "platform" else None,
            )
            for step in ("due_diligence", "assessment", "approved", "active"):
                service_partner.advance(s, partner_id=partner.id, to=step, actor="t", now=now)
            ids.append(partner.id)
        cred, secret = service_partner.issue_credential(s, partner_id=ids[0], actor="t", now=now)
        return cred.client_id, secret, "lp-maju"


def _recipient(db: Database) -> tuple[str, str]:
    """An account with a verified phone and a card issued from a drawn application."""
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        account = Account(
            public_id=uuid.uuid4().hex,
            email="dewi@example.id",
            password_hash="x",
            kind="citizen",
            roles="",
            status="active",
            language="id",
            failed_logins=0,
            created_at=now,
            email_verified_at=now,
            phone=PHONE,
            phone_verified_at=now,
        )
        s.add(account)
        s.flush()
        person = Person(
            account_id=account.id, full_name="Dewi Lestari", created_at=now, updated_at=now
        )
        s.add(person)
        s.flush()
        # as the draw writes it for each winner (selection.service_draw.ISSUE_CARD)
        jobs.enqueue(
            s,
            ISSUE_CARD,
            {"application_id": 9001, "person_id": person.id, "wave_id": 1},
            now=now,
        )
        token = open_session(s, account_id=account.id, ip="127.0.0.1", now=now).token
    jobs.run_until_idle(db)
    with db.transaction() as s:
        card = service_card.card_for_account(s, account.id)
        assert card is not None, "the draw's job issued no card"
        return card.number, token


def _publish(db: Database, platform: PlatformClient, provider: str) -> tuple[str, int]:
    """The platform publishes a course and its session; an assessor approves the course."""
    resp = platform.publish_course(sample_courses(provider, 1)[0])
    assert resp.status_code == 200, resp.text
    course_id = resp.json()["course"]["id"]
    with db.transaction() as s:
        from prakerja.marketplace.model import Course

        row = s.scalar(select(Course).where(Course.public_id == course_id))
        assert row is not None
        service_catalogue.assess_course(
            s, course_id=row.id, approve=True, actor="assessor", now=dt.datetime.now(dt.UTC)
        )
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=20)
    sched = platform.add_schedule(
        course_id,
        {
            "external_ref": "sesi-1",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
        },
    )
    assert sched.status_code == 200, sched.text
    return course_id, int(sched.json()["id"])


def _wait_for(db: Database, order_pk: int, status: str) -> Order:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        jobs.run_until_idle(db)  # the order.placed webhook goes out as a job
        with db.transaction() as s:
            order = s.get(Order, order_pk)
            if order is not None and order.status == status and order.voucher_redeemed_at:
                s.expunge(order)
                return order
        time.sleep(0.1)
    raise AssertionError(f"the simulated platform did not make the order {status}")


def test_recipient_journey(page: Any, live_url: str, db: Database, sms_sim: SmsSim) -> None:
    port = free_port()
    client_id, secret, provider = _partners(db, f"http://127.0.0.1:{port}/webhooks")
    platform = PlatformClient(live_url, client_id, secret)
    course_id, session_id = _publish(db, platform, provider)
    number, token = _recipient(db)
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": live_url}])

    page.goto("/card")
    assert page.locator("#number").inner_text().replace(" ", "") == number
    assert page.locator("#balance").inner_text() == "Rp3.500.000"
    assert page.locator("#deadline").inner_text()

    page.goto("/courses")
    title = sample_courses(provider, 1)[0]["title"]
    page.fill("#q", title.split()[0])
    page.click("form[role=search] button[type=submit]")
    page.click(f"a[href='/courses/{course_id}']")
    assert page.locator("h1").inner_text() == title
    page.fill("#card_number", number)
    page.click("form[action$='/buy'] button[type=submit]")
    jobs.run_until_idle(db)
    code = re.search(r"\b(\d{6})\b", sms_sim.wait_for(PHONE)[-1])
    assert code
    sim, inbox = make_app(PlatformClient(live_url, client_id, secret))
    with serve(sim, port):
        page.fill("#code", code.group(1))
        page.click("form[action$='/code'] button[type=submit]")
        with db.transaction() as s:
            order_pk = s.scalars(select(Order.id)).one()
        order = _wait_for(db, order_pk, "confirmed")
    order_id = order.public_id
    assert [e["event"] for e in inbox.events.values()] == ["order.placed"]
    assert inbox.refused == 0

    page.goto("/learning")
    redeem = page.locator(".redeem-code").first.inner_text().strip()
    commit = platform.send(
        "POST", f"{API}/sessions/{session_id}/redeem-codes/commit", {"code": redeem}
    )
    assert commit.status_code == 200
    assert commit.json()["status"] == "committed"
    page.click(f"a[href='/learning/{order_id}/sessions/{session_id}/face']")
    page.set_input_files(
        "#photo",
        files=[{"name": "selfie.png", "mimeType": "image/png", "buffer": sample_image("pass")}],
    )
    page.check("input[name=blink]")
    page.click("form[enctype] button[type=submit]")
    expect(page.locator("#face-passed")).to_be_visible()

    for path, body in (
        ("/attendance", {"order_id": order_id, "session_id": session_id, "method": "face"}),
        ("/completions", {"order_id": order_id, "pre_score": 45, "post_score": 88}),
        ("/certificates", {"order_id": order_id, "certificate_number": "SIM-0001"}),
    ):
        resp = platform.send("POST", API + path, body)
        assert resp.status_code == 200, resp.text

    page.goto("/learning")
    expect(page.locator(f"#completion-{order_id}")).to_be_visible()
    with page.expect_download() as info:
        page.click("a[href$='.pdf']")
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    (scanned,) = qr_texts(pdf)  # the printed QR opens the same page as the link
    link = page.locator("a[href^='/certificates/']").get_attribute("href")
    assert urlsplit(scanned).path == link
    page.goto(urlsplit(scanned).path)
    assert "✔" in page.locator("#verdict").inner_text()
    assert page.locator("#recipient").inner_text() == "D*** L******"

    page.goto("/learning")
    page.check("input[name=stars][value='5']")
    page.fill("textarea[name=text]", "Materinya praktis dan langsung bisa dipakai")
    page.click("form.review button[type=submit]")
    expect(page.locator(".review-done")).to_be_visible()
    with db.transaction() as s:
        assert s.get(Order, order_pk).status == "completed"  # type: ignore[union-attr]
        assert (
            s.scalar(select(jobs.Job.payload).where(jobs.Job.kind == "payout.incentive_eligible"))[
                "order_id"
            ]
            == order_pk
        )
    platform.close()
