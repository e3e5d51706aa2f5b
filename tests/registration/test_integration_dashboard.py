"""The dashboard leads a registered citizen on: to the waves, then the card once issued, then
the courses once a purchase is confirmed; each link only when it applies, in id and en."""

import re

from prakerja.identity.model import Account
from prakerja.kit.clock import utc_now
from prakerja.marketplace import service_order, service_purchase
from prakerja.marketplace.model import Partner
from prakerja.registration import service
from prakerja.wallet import service_card
from tests.marketplace.conftest import make_course, make_partner, sms_code
from tests.registration.conftest import make_citizen, walk

LINKS = {"waves": "/waves", "card": "/card", "learning": "/learning"}


def _links(page: str) -> set[str]:
    found = set(re.findall(r'<a href="([^"]+)" id="link-(\w+)"', page))
    assert all(LINKS[name] == href for href, name in found)
    return {name for _, name in found}


def _register(db, who, citizen) -> int:
    walk(db, citizen, who, "phone")
    with db.transaction() as s:
        person = service.find_person(s, citizen.account_id)
        for step in ("phone", "statement", "test"):
            service.mark_step(s, person_id=person.id, step=step, now=utc_now())
        return person.id


def _buy(db, account_id: int, card_number: str) -> tuple[int, str]:
    """Buy a course with the SMS code: the order is placed, pending the platform."""
    now = utc_now()
    with db.transaction() as s:
        account = s.get(Account, account_id)
        account.phone, account.phone_verified_at = "+6281299990001", now
        platform, provider = make_partner(s, "platform"), make_partner(s, "provider")
        course = make_course(s, platform, provider)
        order = service_purchase.start_purchase(
            s,
            account_id=account_id,
            course_public_id=course.public_id,
            card_number=card_number,
            key="key-00001",
            now=now,
        )
        order = service_purchase.confirm_purchase(
            s,
            account_id=account_id,
            order_public_id=order.public_id,
            code=sms_code(s, account.phone),
            now=now,
        )
        assert order.status == "pending"
        return platform.id, order.public_id


def _next(page: str) -> tuple[str, str | None]:
    """The next-step sentence and the single button's target (None: nothing to do but wait)."""
    text = re.search(r'<p class="status" id="next-text">([^<]+)</p>', page)
    button = re.findall(r'<a class="button" href="([^"]+)" id="next-step">', page)
    assert text is not None, "no next step on the dashboard"
    assert len(button) <= 1
    return text.group(1), (button[0] if button else None)


def test_a_registrant_still_on_the_journey_sees_no_later_places(client, db):
    make_citizen(db).login(client)
    page = client.get("/dashboard").text
    assert 'id="next-places"' not in page
    assert _links(page) == set()


def test_the_links_follow_the_citizen_from_waves_to_card_to_courses(client, db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    person_id = _register(db, who, citizen)
    citizen.login(client)

    page = client.get("/dashboard").text
    assert _links(page) == {"waves"}
    assert "Gelombang: ikuti gelombang" in page
    assert _next(page) == (
        "Saat ini belum ada gelombang yang dibuka untuk wilayah Anda. "
        "Periksa halaman ini lagi nanti.",
        None,
    )

    with db.transaction() as s:
        card = service_card.issue_card(
            s,
            application_id=1,
            person_id=person_id,
            wave_id=1,
            policy_version_id=None,
            now=utc_now(),
        )
        number = card.number
    page = client.get("/dashboard").text
    assert _links(page) == {"waves", "card"}
    assert "Kartu Prakerja Anda: saldo" in page
    text, target = _next(page)
    assert text.startswith("Beli pelatihan pertama Anda paling lambat ")
    assert re.search(r"\d{1,2} [A-Z][a-z]+ 20\d\d", text), text  # "15 Desember 2026"
    assert target == "/courses"

    platform_id, order_id = _buy(db, citizen.account_id, number)
    page = client.get("/dashboard").text
    assert _links(page) == {"waves", "card"}  # not enrolled yet
    assert _next(page)[1] == "/orders"
    assert "menunggu konfirmasi dari platform pelatihan" in _next(page)[0]
    with db.transaction() as s:
        service_order.confirm_order(
            s, partner=s.get(Partner, platform_id), order_public_id=order_id, now=utc_now()
        )
    page = client.get("/dashboard").text
    assert _links(page) == {"waves", "card", "learning"}
    assert "Pelatihan saya: kode redeem" in page
    assert _next(page)[1] == "/learning"
    assert _next(page)[0].startswith("Ikuti pelatihan ")
    assert "<script" not in page

    english = client.get("/dashboard?lang=en").text
    assert "Waves: join the open wave for your region" in english
    assert "Your Prakerja card: balance, deadlines" in english
    assert "My courses: redeem codes, progress and certificates" in english
    assert _next(english)[0].startswith("Follow your course ")
    for href in LINKS.values():
        assert client.get(href).status_code == 200


def test_the_eligibility_box_stays_away_while_the_citizens_own_card_is_in_use(
    client, db, people, face_sim
):
    """A recipient is not told they 'cannot join a wave because they already received a card'
    while that card is theirs to use; once it is revoked the box explains why again."""
    who, citizen = next(people), make_citizen(db)
    person_id = _register(db, who, citizen)
    citizen.login(client)
    page = client.get("/dashboard").text
    assert 'id="eligibility"' in page
    assert "<details><summary><h2>Langkah pendaftaran: selesai</h2></summary>" in page

    with db.transaction() as s:
        card_id = service_card.issue_card(
            s, application_id=1, person_id=person_id, wave_id=1, policy_version_id=None,
            now=utc_now(),
        ).id  # fmt: skip
    page = client.get("/dashboard").text
    assert 'id="eligibility"' not in page
    assert "sudah pernah menerima" not in page
    assert _next(page)[1] == "/courses"

    with db.transaction() as s:
        service_card.revoke(s, card_id=card_id, reason="no_purchase", now=utc_now())
    page = client.get("/dashboard").text
    assert 'id="eligibility"' in page
    assert "dicabut" in _next(page)[0]
