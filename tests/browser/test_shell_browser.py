"""The shell renders in a phone-sized Chromium, in Indonesian, switching to English."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_home_page_on_a_phone_switches_language(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "id"
    expect(page.get_by_role("link", name="Daftar").first).to_be_visible()
    page.get_by_role("link", name="EN", exact=True).click()
    assert page.locator("html").get_attribute("lang") == "en"
    # No horizontal scrolling on a 390 px wide screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
