"""A citizen joins a wave on a phone-sized Chromium, then reads the result and checks a receipt."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect

from prakerja.identity.service_session import COOKIE, open_session
from prakerja.selection import service, service_announce, service_draw, service_screen
from prakerja.settings import get_settings
from tests.selection.wave_factories import add_person, open_committed

pytestmark = pytest.mark.browser


def test_a_citizen_joins_a_wave_and_reads_the_result(
    page, live_url, db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        wave = open_committed(s, places=1, cells=["32.01"], opens=now - dt.timedelta(hours=1))
        person = add_person(s)
        token = open_session(s, account_id=person.account_id, ip="127.0.0.1", now=now).token
        code, wave_id = wave.code, wave.id
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": live_url}])
    page.goto("/waves")
    page.locator("#join").click()
    expect(page.locator("#wave-error")).to_be_visible()  # consent not given: refused, told why
    page.locator("#consent").check()
    page.locator("#join").click()
    receipt = page.locator("#receipt").inner_text().strip()
    assert len(receipt) == 11
    expect(page.locator('[data-status="waiting"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for step in ("close", "screen", "draw", "announce"):
        with db.transaction() as s:
            {
                "close": service.close_wave,
                "screen": service_screen.screen,
                "draw": service_draw.run_draw,
                "announce": service_announce.announce,
            }[step](s, wave_id=wave_id, actor="staff:test", now=now)
    page.reload()
    expect(page.locator('[data-status="selected"]')).to_be_visible()
    page.goto(f"/waves/{code}")
    page.locator("#receipt-input").fill(receipt)
    page.get_by_role("button", name="Periksa").click()
    expect(page.locator('#outcome[data-status="selected"]')).to_be_visible()
    expect(page.locator("#pool-file")).to_be_visible()
