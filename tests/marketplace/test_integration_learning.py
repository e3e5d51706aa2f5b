"""From a purchase to redeem codes: codes are issued lazily, on the citizen's first look.

The SMS code only places the order (pending: the platform may still refuse it), so no code
exists yet and `issue_redeem_codes` deliberately issues none. Once the platform confirms, the
first read of the citizen's courses (page or API) issues one code per session, and that is the
code the platform then accepts: every reader of a code issues it first, so no caller has to
issue codes at confirmation.
"""

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from prakerja.kit.clock import wib
from prakerja.learning import service_attendance
from prakerja.learning.model import RedeemCode
from prakerja.learning.service_enrolment import issue_redeem_codes
from prakerja.marketplace import service_catalogue, service_partner, service_purchase
from prakerja.marketplace.model import Order
from tests.marketplace.conftest import (
    NOW,
    make_buyer,
    make_course,
    make_keys,
    make_partner,
    signed,
    sms_code,
)

START = NOW + dt.timedelta(days=3)


@pytest.fixture
def bought(db):
    """A webinar with two sessions and a buyer whose order passed the SMS code (pending)."""
    with db.transaction() as s:
        platform, provider = make_partner(s, "platform"), make_partner(s, "provider")
        keys = make_keys(s, platform)
        course = make_course(s, platform, provider, price=700_000, capacity=30, mode="webinar")
        sessions = [
            service_catalogue.add_session(
                s,
                platform=platform,
                course_public_id=course.public_id,
                external_ref=f"s{i}",
                starts_at=START + dt.timedelta(days=i),
                ends_at=START + dt.timedelta(days=i, hours=2),
                venue=None,
                now=NOW,
            )[0].id
            for i in range(2)
        ]
        buyer = make_buyer(s)
        order = service_purchase.start_purchase(
            s,
            account_id=buyer.account_id,
            course_public_id=course.public_id,
            card_number=buyer.card_number,
            key="key-00001",
            now=NOW,
        )
        order = service_purchase.confirm_purchase(
            s,
            account_id=buyer.account_id,
            order_public_id=order.public_id,
            code=sms_code(s, buyer.phone),
            now=NOW,
        )
        assert order.status == "pending"
        return keys, buyer, order.id, order.public_id, sessions


def _codes(db):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(RedeemCode))


def test_a_pending_order_gets_no_code(client, db, bought):
    _, buyer, order_id, _, _ = bought
    with db.transaction() as s:
        assert issue_redeem_codes(s, order_id=order_id, now=NOW) == []
    assert buyer.login(client).get("/api/v1/learning/enrolments").json() == []
    assert "redeem-code" not in client.get("/learning").text
    assert _codes(db) == 0


def test_the_first_look_after_confirmation_shows_a_code_for_every_session(client, db, bought):
    keys, buyer, order_id, public_id, sessions = bought
    resp = signed(client, keys, "POST", f"/api/partner/v1/orders/{public_id}/confirm")
    assert (resp.status_code, resp.json()["status"]) == (200, "confirmed")
    assert _codes(db) == 0  # lazily: nothing is issued until someone reads the codes

    page = buyer.login(client).get("/learning")
    shown = re.findall(r'<code class="redeem-code">([A-Z0-9]{8})</code>', page.text)
    assert len(shown) == 2
    # each session's time in Jakarta time, as citizens read it, not UTC
    assert wib(START) in page.text
    assert wib(START + dt.timedelta(days=1)) in page.text
    assert " UTC" not in page.text
    (enrolment,) = client.get("/api/v1/learning/enrolments").json()
    assert [s["redeem_code"] for s in enrolment["sessions"]] == shown  # same codes, issued once
    assert _codes(db) == 2

    with db.transaction() as s:  # the code the citizen sees is the one the platform accepts
        platform_id = s.get(Order, order_id).platform_id
        redeem = service_attendance.check_redeem_code(
            s, partner_id=platform_id, session_id=sessions[0], code=shown[0], now=START
        )
        assert redeem.order_id == order_id


def test_a_suspended_platform_still_reports_learning(client, db, bought):
    """Suspension stops sales, not the learning of citizens already enrolled: the suspended
    platform's learning calls reach the learning rules (here: sessions not attended yet, a
    code never issued) instead of being refused for its status."""
    keys, _, _, public_id, sessions = bought
    assert signed(client, keys, "POST", f"/api/partner/v1/orders/{public_id}/confirm").is_success
    with db.transaction() as s:
        service_partner.suspend(s, partner_id=keys.partner_id, actor="staff", now=NOW)
    report = {"order_id": public_id, "pre_score": 40, "post_score": 80}
    resp = signed(client, keys, "POST", "/api/partner/v1/completions", report)
    assert (resp.status_code, resp.json()["code"]) == (409, "sessions_not_attended")
    check = signed(
        client,
        keys,
        "POST",
        f"/api/partner/v1/sessions/{sessions[0]}/redeem-codes/check",
        {"code": "ABCD2345"},
    )
    assert (check.status_code, check.json()["code"]) == (404, "redeem_code_not_found")
