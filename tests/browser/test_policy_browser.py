"""An operator previews a policy draft in Chromium with JavaScript switched off: asks for the
preview, sees it being computed, and the page's own refresh brings the report once a worker
has computed it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from prakerja.identity.service_session import COOKIE
from prakerja.kit import jobs
from prakerja.kit.db import Database
from prakerja.registration import service_eligibility as policies
from tests.browser.conftest import phone_page
from tests.feedback.desk_helpers import make_account
from tests.registration.factories_eligibility import NOW, make_person

pytestmark = pytest.mark.browser


@pytest.fixture
def nojs(browser: Any, live_url: str) -> Iterator[Any]:
    with phone_page(browser, live_url, javascript=False) as page:
        yield page


def test_an_operator_previews_a_draft_and_the_page_refreshes_to_the_report(
    db: Database, nojs: Any, live_url: str, tmp_path: Path
) -> None:
    with db.transaction() as s:
        make_person(s, 1)  # eligible under both
        make_person(s, 2, other_aid="bsu")  # loses it under 2020-22
        draft = policies.create_draft(s, code="2025.1", preset="2020-22", actor="t", now=NOW)
        draft_id = draft.id
    operator = make_account(db, roles="operator")
    page = nojs
    page.context.add_cookies([{"name": COOKIE, "value": operator.token, "url": live_url}])
    page.goto(f"/admin/policy/{draft_id}/diff")
    expect(page.locator("#diff-run")).to_have_attribute("data-status", "none")
    page.get_by_role("button", name="Hitung pratinjau").click()
    expect(page.locator("#diff-run")).to_have_attribute("data-status", "queued")
    assert "sedang dihitung" in page.locator("#diff-run").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    jobs.run_until_idle(db)  # a worker computes it; no click: the page refreshes itself
    # the meta refresh fires every 5 s
    expect(page.locator("#diff-run")).to_have_attribute("data-status", "done", timeout=15000)
    assert page.locator("#newly-ineligible").inner_text() == "1"
    assert page.locator("#newly-eligible").inner_text() == "0"
    expect(page.get_by_role("button", name="Hitung ulang")).to_be_visible()
