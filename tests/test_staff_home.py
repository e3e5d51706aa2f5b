"""/staff lists every console a staff member may open, and only those: each listed page opens
for the role, each unlisted one is refused, so the list and the routes' roles cannot drift."""

import re

import pytest
from fastapi.testclient import TestClient

from prakerja.identity.model import ROLES
from prakerja.kit import consoles
from tests.registration.factories_eligibility import staff_client


def _listed(page: str) -> list[str]:
    block = re.search(r'<ul id="consoles">(.*?)</ul>', page, re.S)
    return re.findall(r'<a href="([^"]+)">', block.group(1)) if block else []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_exactly_the_consoles_it_may_open(app, db, role):
    every = [c.path for c in consoles.for_staff(lambda *roles: True)]
    with TestClient(app, base_url="http://testserver") as client:
        staff_client(client, db, role)
        listed = _listed(client.get("/staff").text)
        assert len(set(listed)) == len(listed)
        for path in every:
            status = client.get(path).status_code
            assert status == (200 if path in listed else 403), (role, path, status)
    expected = {
        "admin": set(every),
        "operator": set(every),
        "assessor": {"/admin/courses"},
        "agent": {"/desk"},
        "analyst": {"/admin/policy", "/admin/lists", "/admin/quality"},
        "auditor": {"/admin/policy", "/admin/lists"},
        "finance": set(),
    }[role]
    assert set(listed) == expected


def test_the_list_covers_the_staff_pages_in_journey_order_and_speaks_both_languages(app, db):
    with TestClient(app, base_url="http://testserver") as client:
        staff_client(client, db, "operator")
        page = client.get("/staff").text
        english = client.get("/staff?lang=en").text
    assert _listed(page) == [
        "/admin/policy",
        "/admin/lists",
        "/admin/waves",
        "/admin/partners",
        "/admin/courses",
        "/admin/quality",
        "/desk",
        "/desk/stats",
        "/admin/jobs",
    ]
    assert ">Gelombang</a>" in page
    assert ">Waves</a>" in english
    assert ">Background jobs</a>" in english


def test_every_staff_page_is_listed_or_reached_from_a_listed_one(app):
    listed = {c.path for c in consoles.for_staff(lambda *roles: True)}
    pages = {
        route.path
        for route in app.routes
        if getattr(route, "methods", None)
        and "GET" in route.methods
        and route.path.startswith(("/admin", "/desk"))
        and "{" not in route.path
    }
    orphans = {p for p in pages - listed if p.rsplit("/", 1)[0] not in listed}
    assert not orphans, f"staff pages no one can find from /staff: {sorted(orphans)}"


def test_the_list_says_how_many_things_wait_on_each_page(app, db):
    from prakerja.kit import jobs
    from prakerja.kit.clock import utc_now
    from prakerja.marketplace.model import Partner

    with TestClient(app, base_url="http://testserver") as client:
        staff_client(client, db, "operator")
        assert 'class="waiting"' not in client.get("/staff").text  # nothing waits yet
        with db.transaction() as s:
            now = utc_now()
            for i in range(2):
                job_id = jobs.enqueue(s, "no.such_handler", {"i": i}, now=now)
                s.get(jobs.Job, job_id).status = jobs.DEAD
            s.add(Partner(code="lp-baru", name="LP Baru", kind="provider", status="applied",
                          created_at=now, updated_at=now))  # fmt: skip
        page = client.get("/staff").text
        assert '<strong class="waiting" id="waiting-admin-jobs">2 menunggu</strong>' in page
        assert 'id="waiting-admin-partners">1 menunggu<' in page
        assert 'id="waiting-desk"' not in page
        assert "2 waiting" in client.get("/staff?lang=en").text
