"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.livesrv import serve

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: .ci/run installs it with apt-get install chromium")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(app) as url:
        yield url


@contextmanager
def phone_page(
    browser: Any, base_url: str, *, javascript: bool = True, bypass_csp: bool = False
) -> Iterator[Any]:
    """A 390 px wide page in Indonesian on `base_url`; `javascript=False` for the pages that
    must work without it, `bypass_csp` for a test that injects its own script (axe-core)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="id-ID",
        base_url=base_url,
        java_script_enabled=javascript,
        bypass_csp=bypass_csp,
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def page(browser, live_url):  # type: ignore[no-untyped-def]
    with phone_page(browser, live_url) as pg:
        yield pg
