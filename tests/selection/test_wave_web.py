"""Waves through the web pages and the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from prakerja.selection import poolfile
from prakerja.settings import get_settings
from tests.registration.factories_eligibility import csrf, staff_client
from tests.selection.wave_factories import add_person, login, open_committed

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)


def _wave(db, places: int = 1, people: int = 3):
    with db.transaction() as s:
        wave = open_committed(s, places=places, cells=["32.01"], opens=NOW - dt.timedelta(days=1))
        persons = [add_person(s) for _ in range(people)]
        return wave.code, [p.account_id for p in persons]


def _staff_post(client, code: str, action: str):
    token = csrf(client, f"/admin/waves/{code}")
    return client.post(
        f"/admin/waves/{code}/{action}", data={"csrf_token": token}, follow_redirects=False
    )


def test_citizens_join_on_the_web_and_read_their_result_after_the_draw(db, client, app):
    code, accounts = _wave(db, places=1, people=2)
    receipts = []
    for account_id in accounts:
        login(client, db, account_id)
        page = client.get("/waves")
        assert page.status_code == 200
        assert "open-wave" in page.text
        token = csrf(client, "/waves")
        refused = client.post(f"/waves/{code}/join", data={"csrf_token": token})
        assert refused.status_code == 422  # no consent ticked
        done = client.post(f"/waves/{code}/join", data={"csrf_token": token, "consent": "yes"})
        assert done.status_code == 200
        assert 'data-status="waiting"' in done.text
        receipts.append(re.search(r'id="receipt">([A-Z0-9-]+)<', done.text).group(1))
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as staff:
        staff_client(staff, db, "operator")
        for action in ("close", "screen", "draw"):
            assert _staff_post(staff, code, action).status_code == 303, action
        assert 'data-status="in_selection"' in client.get("/waves").text
        assert _staff_post(staff, code, "announce").status_code == 303
        assert _staff_post(staff, code, "draw").status_code == 409  # never twice
    outcomes = []
    for account_id in accounts:
        login(client, db, account_id)
        text = client.get("/waves").text
        outcomes.append(re.search(r'data-status="(\w+)"', text).group(1))
        # the winner is sent to the card page, where the card appears once issued
        assert ('<a href="/card" id="link-card">' in text) == (outcomes[-1] == "selected")
    assert sorted(outcomes) == ["not_selected", "selected"]
    public = client.get(f"/waves/{code}", params={"receipt": receipts[0]})
    assert f'data-status="{outcomes[0]}"' in public.text
    assert '<details id="regions">' in public.text  # the long per-region table is folded
    assert '<td>Kabupaten Bogor <small class="mono">32.01</small></td>' in public.text
    pool = client.get(f"/waves/{code}/files/pool.bin")
    params = client.get(f"/waves/{code}/files/params.json")
    assert pool.status_code == 200
    assert params.status_code == 200
    assert poolfile.verify(pool.content, params.content, workers=1).ok
    assert poolfile.sha256_hex(pool.content) in public.text


def test_the_api_joins_draws_and_answers_outcomes_with_problem_json_errors(db, client, app):
    code, accounts = _wave(db, places=2, people=3)
    login(client, db, accounts[0])
    bad = client.post(f"/api/v1/waves/{code}/join", json={"consent": False})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "selection.consent_required"
    joined = client.post(f"/api/v1/waves/{code}/join", json={"consent": True})
    assert joined.status_code == 201
    again = client.post(f"/api/v1/waves/{code}/join", json={"consent": True})
    assert again.status_code == 409
    assert again.json()["code"] == "selection.already_joined"
    receipt = joined.json()["receipt"]
    forbidden = client.post(f"/api/v1/waves/{code}/close")
    assert forbidden.status_code in (401, 403)
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as staff:
        staff_client(staff, db, "operator")
        for action in ("close", "screen", "draw", "announce"):
            answer = staff.post(f"/api/v1/waves/{code}/{action}")
            assert answer.status_code == 200, answer.text
        assert staff.post(f"/api/v1/waves/{code}/draw").status_code == 409
    anonymous = TestClient(app, base_url="http://testserver")
    detail = anonymous.get(f"/api/v1/waves/{code}").json()
    assert detail["status"] == "announced"
    assert detail["winners"] == 1
    assert poolfile.check_reveal(detail["seed_commitment"], bytes.fromhex(detail["seed"]))
    outcome = anonymous.get(f"/api/v1/waves/{code}/outcome", params={"receipt": receipt})
    assert outcome.json() == {"wave": code, "status": "selected", "reasons": []}
    missing = anonymous.get(f"/api/v1/waves/{code}/outcome", params={"receipt": "NOPE-NOPE"})
    assert missing.status_code == 404
    assert code in [w["code"] for w in anonymous.get("/api/v1/waves").json()]


def test_an_operator_plans_a_wave_in_jakarta_time_and_a_bad_date_changes_nothing(db, client):
    from prakerja.selection import service

    staff_client(client, db, "operator")
    token = csrf(client, "/admin/waves")
    form = {
        "csrf_token": token,
        "code": "G9-WIB",
        "name": "Gelombang 9",
        "opens_at": "2031-03-01T08:00",  # 08:00 WIB, as the operator's clock reads
        "closes_at": "2031-03-05T23:59",
        "places": "1.000",
        "minimum": "0",
        "priority_quota": "0",
        "regions": "",
    }
    bad = client.post("/admin/waves", data={**form, "closes_at": "5 Maret"})
    assert bad.status_code == 422
    assert "2026-03-01T08:00 (WIB)" in bad.text
    assert 'value="2031-03-01T08:00"' in bad.text  # the form keeps what was typed
    with db.sessions() as s:
        assert all(w.code != "G9-WIB" for w in service.list_waves(s))

    made = client.post("/admin/waves", data=form, follow_redirects=False)
    assert made.status_code == 303
    with db.sessions() as s:
        wave = service.wave_by_code(s, "G9-WIB")
        assert wave.opens_at == dt.datetime(2031, 3, 1, 1, 0, tzinfo=dt.UTC)
        assert wave.closes_at == dt.datetime(2031, 3, 5, 16, 59, tzinfo=dt.UTC)
    page = client.get("/admin/waves/G9-WIB").text
    assert "01-03-2031 08:00 WIB" in page


def test_the_operators_wave_page_offers_only_the_steps_that_apply_now(db, client, app):
    code, _ = _wave(db, places=1, people=0)  # open, commitment published
    staff_client(client, db, "operator")

    def buttons() -> list[str]:
        return re.findall(r'id="do-(\w+)"', client.get(f"/admin/waves/{code}").text)

    assert buttons() == ["close"]
    assert "Tutup gelombang" in client.get(f"/admin/waves/{code}").text
    listing = client.get("/admin/waves").text  # the list says each wave's next step too
    assert re.search(rf'{code}</a>.*?<td class="next-step">Tutup gelombang</td>', listing, re.S)
    steps = [("close", ["screen", "run"]), ("run", ["announce"]), ("announce", ["purchase_window"])]
    for action, then in steps:
        assert _staff_post(client, code, action).status_code == 303, action
        assert buttons() == then, action
    assert _staff_post(client, code, "purchase_window").status_code == 303
    assert _staff_post(client, code, "settle").status_code == 303
    page = client.get(f"/admin/waves/{code}").text
    assert buttons() == []
    assert 'id="no-actions"' in page
    # an action that does not apply, posted anyway, is still refused and changes nothing
    refused = _staff_post(client, code, "open")
    assert refused.status_code == 409
    assert 'id="wave-status">selesai<' in refused.text


def test_the_public_page_computes_its_figures_once_a_minute_and_again_after_each_step(
    db, client, monkeypatch
):
    from prakerja.selection import queries

    code, _ = _wave(db, places=1, people=0)
    calls = []
    real = queries.group_counts
    monkeypatch.setattr(queries, "group_counts", lambda s, w: calls.append(w) or real(s, w))
    for _ in range(3):
        assert client.get(f"/waves/{code}").status_code == 200
    assert len(calls) == 1  # three citizens, one computation
    staff_client(client, db, "operator")
    assert _staff_post(client, code, "close").status_code == 303
    client.cookies.clear()
    assert client.get(f"/waves/{code}").status_code == 200
    assert len(calls) == 2  # the step changed the wave: computed again at once
    monkeypatch.setattr(queries._PUBLIC, "ttl_s", 0.0)
    client.get(f"/waves/{code}")
    assert len(calls) == 3  # and again once the minute is over


def test_while_one_request_refreshes_the_figures_the_others_take_the_last_copy():
    from types import SimpleNamespace

    from prakerja.selection import queries

    wave = SimpleNamespace(id=7, updated_at=NOW)
    old = queries.PublicFigures(counts={"joined": 1}, regions=[], groups={})
    queries._PUBLIC.put_stale((7, NOW), old)
    with queries._PUBLIC._lock:  # another request is computing them
        assert queries.public_figures(None, wave) is old  # no wait, no query (no session)
    fresh = queries.PublicFigures(counts={"joined": 2}, regions=[], groups={})
    assert queries._PUBLIC.get((7, NOW), lambda: fresh) is fresh  # lock free: computed anew
