"""Citizen and operator pages work as plain forms."""

import datetime as dt
import re

from sqlalchemy import select

from prakerja.identity.service_account import create_staff
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.audit import AuditEntry
from prakerja.kit.clock import utc_now
from prakerja.marketplace.model import Course, Order, Partner
from tests.marketplace.conftest import NOW, make_buyer, sms_code


def _csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1), page


def test_the_catalogue_filters_by_balance_and_mode(client, db, market):
    with db.transaction() as s:
        buyer = make_buyer(s)
    buyer.login(client)
    page = client.get("/courses", params={"within_balance": "1"})
    assert market.course.title in page.text
    assert "Rp3.500.000" in page.text  # the available balance, in Indonesian format
    assert market.course.title not in client.get("/courses", params={"mode": "offline"}).text
    assert market.course.title not in client.get("/courses", params={"max_price": "10"}).text
    # The filters fold away on a phone (<details>) and stay open while one is in use.
    assert '<details id="filters">' in client.get("/courses").text
    assert '<details id="filters" open>' in page.text


def test_a_citizen_buys_through_the_pages(client, db, market):
    with db.transaction() as s:
        buyer = make_buyer(s, issued_at=utc_now())  # it buys at the server's clock
    buyer.login(client)
    url = f"/courses/{market.course.public_id}"
    token, page = _csrf(client, url)
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    started = client.post(
        f"{url}/buy",
        data={"csrf_token": token, "key": key, "card_number": buyer.card_number},
        follow_redirects=False,
    )
    assert started.status_code == 303
    code_url = started.headers["location"]
    token, _ = _csrf(client, code_url)
    wrong = client.post(code_url, data={"csrf_token": token, "code": "000000"})
    with db.sessions() as s:
        code = sms_code(s, buyer.phone)
    if code != "000000":
        assert wrong.status_code == 422
    done = client.post(code_url, data={"csrf_token": token, "code": code}, follow_redirects=False)
    assert done.status_code == 303
    orders = client.get("/orders")
    assert market.course.title in orders.text
    assert '<li class="card order" data-status="pending">' in orders.text  # a card, not a table
    assert f'<dd class="platform">{market.platform.name}</dd>' in orders.text
    assert " WIB</dd>" in orders.text  # when it was ordered, in Jakarta time
    with db.sessions() as s:
        assert s.scalar(select(Order.status)) == "pending"
    from prakerja.marketplace import service_order

    with db.transaction() as s:  # the platform confirms: the voucher and where to enter it
        order = s.scalars(select(Order)).one()
        platform = s.get(Partner, market.platform.id)
        service_order.confirm_order(
            s, partner=platform, order_public_id=order.public_id, now=utc_now()
        )
    confirmed = client.get("/orders").text
    assert f"Masukkan voucher ini di {market.platform.name} untuk memulai pelatihan." in confirmed


def test_a_wrong_card_number_shows_a_form_error(client, db, market):
    with db.transaction() as s:
        buyer = make_buyer(s)
    buyer.login(client)
    url = f"/courses/{market.course.public_id}"
    token, _ = _csrf(client, url)
    resp = client.post(
        f"{url}/buy", data={"csrf_token": token, "key": "k-wrong-card", "card_number": "0" * 16}
    )
    assert resp.status_code == 403
    assert 'role="alert"' in resp.text


def _staff(client, db, *roles):
    with db.transaction() as s:
        account, _ = create_staff(
            s,
            email=f"op{len(roles)}@prakerja.go.id",
            password="a long staff passphrase 2025",
            roles=roles,
            now=NOW,
        )
        web = open_session(s, account_id=account.id, ip="127.0.0.1", now=dt.datetime.now(dt.UTC))
    client.cookies.set(COOKIE, web.token)
    return account


def test_an_operator_walks_a_partner_through_curation(client, db):
    operator = _staff(client, db, "operator")
    token, _ = _csrf(client, "/admin/partners")
    made = client.post(
        "/admin/partners",
        data={"csrf_token": token, "code": "lp-baru", "name": "LP Baru", "kind": "provider"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    with db.sessions() as s:
        pid = s.scalar(select(Partner.id).where(Partner.code == "lp-baru"))
    skip = client.post(f"/admin/partners/{pid}/advance", data={"csrf_token": token, "to": "active"})
    assert skip.status_code == 409
    ok = client.post(
        f"/admin/partners/{pid}/advance",
        data={"csrf_token": token, "to": "due_diligence"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with db.sessions() as s:
        assert s.get(Partner, pid).status == "due_diligence"
        actors = s.scalars(select(AuditEntry.actor).where(AuditEntry.target == f"partner:{pid}"))
        assert set(actors) == {f"staff:{operator.public_id}"}


def test_the_curation_board_needs_an_operator(client, db):
    _staff(client, db, "analyst")
    assert client.get("/admin/partners").status_code == 403


def test_only_an_assessor_judges_a_course_and_an_operator_only_sees_the_board(client, db, market):
    with db.sessions() as s:
        course = s.scalar(select(Course).where(Course.status == "approved"))
        course.status = "submitted"
        s.commit()
        course_id = course.id
    _staff(client, db, "operator")
    board = client.get("/admin/courses")
    assert board.status_code == 200
    assert f"/admin/courses/{course_id}/assess" not in board.text  # no buttons to press
    token, _ = _csrf(client, "/admin/courses")
    refused = client.post(
        f"/admin/courses/{course_id}/assess", data={"csrf_token": token, "verdict": "approve"}
    )
    assert refused.status_code == 403
    with db.sessions() as s:
        assert s.get(Course, course_id).status == "submitted"
    assessor = _staff(client, db, "assessor", "analyst")  # (one role more: another email)
    assert f"/admin/courses/{course_id}/assess" in client.get("/admin/courses").text
    done = client.post(
        f"/admin/courses/{course_id}/assess",
        data={"csrf_token": token, "verdict": "approve"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with db.sessions() as s:
        assert s.get(Course, course_id).status == "approved"
        actor = s.scalar(
            select(AuditEntry.actor)
            .where(AuditEntry.action == "course.approved")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        assert actor == f"staff:{assessor.public_id}"


def test_a_course_page_names_its_provider_and_platform_and_shows_its_rating(client, db, market):
    from prakerja.learning.model import CourseQuality

    url = f"/courses/{market.course.public_id}"
    page = client.get(url).text
    assert f"Lembaga pelatihan: <strong>{market.provider.name}</strong>" in page
    assert f"Dijual di: <strong>{market.platform.name}</strong>" in page
    assert "Belum ada ulasan." in page
    with db.transaction() as s:
        s.add(
            CourseQuality(
                course_id=market.course.id,
                provider_id=market.provider.id,
                enrolments=20,
                completions=15,
                reviews=12,
                rating_x100=450,
                computed_at=utc_now(),
            )
        )
    assert "★ <strong>4,5</strong> / 5 · 12 ulasan peserta" in client.get(url).text
    assert "★ 4,5 (12 ulasan peserta)" in client.get("/courses").text
    english = client.get(url, params={"lang": "en"}).text
    assert "★ <strong>4.5</strong> / 5 · 12 reviews by participants" in english
