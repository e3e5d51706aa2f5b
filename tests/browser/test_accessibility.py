"""Every page people use, checked for accessibility by axe-core in Chromium on a phone, and for
fitting the phone's width (no sideways scrolling of the page itself).

axe-core (npm, pinned in package.json, installed by `make test` into node_modules) is injected
from disk into each page of a seeded demo programme and run with the WCAG 2.0/2.1 A and AA
rules. A page passes with no violation at all: each one names the rule and the elements, so a
failure says what to fix. The demo gives every page real content: a citizen part-way through
registration, a recipient learning, staff of each role.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import select

from prakerja import demo
from prakerja.feedback.model import Ticket
from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database
from tests.browser.conftest import phone_page
from tests.fixtures_sim import pointed_at
from tests.livesrv import serve

pytestmark = pytest.mark.xdist_group("a11y")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
NARROW = {"width": 360, "height": 740}  # the narrowest phone the README promises


@dataclass(frozen=True)
class Site:
    url: str
    db: Database
    logins: demo.DemoLogins


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    """A small demo programme seeded into SQLite and served on a free port."""
    from prakerja.app import create_app
    from prakerja.learning import signing
    from prakerja.settings import get_settings

    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("axe-core is missing: `make test` installs it with npm ci")
        pytest.skip("axe-core not installed (npm ci)")
    root = tmp_path_factory.mktemp("a11y")
    shutil.copy(sqlite_template, root / "demo.db")
    (root / "var" / "demo").mkdir(parents=True)
    db = Database(f"sqlite:///{root / 'demo.db'}")
    with pointed_at(var_dir=str(root / "var")):
        signing.reload()
        logins = demo.seed(
            db, root / "var" / "demo", population=3_000, citizens=600,
            console=Console(file=io.StringIO()),
        )  # fmt: skip
        with serve(create_app(get_settings(), db)) as url:
            yield Site(url, db, logins)
    signing.reload()
    db.dispose()


def _token(site: Site, email: str) -> str:
    with site.db.transaction() as s:
        account = s.scalars(select(Account).where(Account.email == email)).one()
        return open_session(s, account_id=account.id, ip="127.0.0.1", now=utc_now()).token


# who is signed in -> the pages they see ({course}, {wave}, {certificate} filled from the demo)
PAGES: dict[str, tuple[str, ...]] = {
    "": (
        "/", "/?lang=en", "/courses", "/courses/{course}", "/waves", "/waves/{wave}",
        "/certificates/{certificate}", "/kamu-bilang-kami-perbaiki", "/login", "/register",
        "/password/forgot", "/staff/login",
    ),
    "walker": ("/dashboard", "/journey/identity", "/complaints/new"),
    "ready": ("/dashboard", "/journey/statement", "/journey/test", "/waves"),
    "recipient.learning": (
        "/card", "/orders", "/learning", "/complaints", "/complaints/{complaint}",
        "/dashboard?lang=en",
    ),
    "admin": (
        "/staff", "/admin/waves", "/admin/waves/{wave}", "/admin/policy", "/admin/partners",
        "/admin/lists",
    ),
    "agent": ("/desk", "/desk/tickets/{ticket}"),
    "operator": ("/admin/courses", "/admin/jobs", "/admin/quality", "/desk/stats"),
}  # fmt: skip
CASES = [(who, path) for who, paths in PAGES.items() for path in paths]


def _ticket(site: Site) -> int:
    with site.db.transaction() as s:
        return s.scalars(select(Ticket.id).order_by(Ticket.id)).first()


def _complaint(site: Site, email: str) -> str:
    """The public id of a complaint the demo filed for this citizen."""
    with site.db.transaction() as s:
        account = s.scalars(select(Account.id).where(Account.email == email)).one()
        found = s.scalars(select(Ticket.public_id).where(Ticket.account_id == account)).first()
    assert found, f"the demo filed no complaint for {email}"
    return found


def _email(site: Site, who: str) -> str:
    logins = site.logins
    if who in logins.staff:
        return logins.staff[who][0]
    return {"walker": logins.walker, "ready": logins.ready}.get(who) or logins.later[who]


def _violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                rule: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
            }));
        }""",
        RULES,
    )
    return found


def _report(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['rule']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    )


def _sign_in(site: Site, page: Any, who: str) -> None:
    if who:
        token = _token(site, _email(site, who))
        page.context.add_cookies([{"name": COOKIE, "value": token, "url": site.url}])


@pytest.mark.parametrize(("who", "path"), CASES, ids=[f"{w or 'public'}:{p}" for w, p in CASES])
def test_the_page_has_no_accessibility_violations(site: Site, browser: Any, who: str, path: str):
    later = site.logins.later
    path = path.format(
        course=later["course.pemasaran-umkm"],
        wave=later["wave.drawn"],
        certificate=later["certificate"],
        ticket=_ticket(site) if "{ticket}" in path else "",
        complaint=_complaint(site, _email(site, who)) if "{complaint}" in path else "",
    )
    with phone_page(browser, site.url, bypass_csp=True) as page:
        page.set_viewport_size(NARROW)
        _sign_in(site, page, who)
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, (path, response.status)
        assert not who or not page.url.endswith("/login"), f"{who} was sent to log in"
        wide = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )  # a page wider than the phone makes its reader scroll sideways (tables scroll inside)
        violations = _violations(page)
    assert wide[0] <= wide[1], f"{path} as {who or 'a visitor'} is {wide[0]} px wide on {wide[1]}"
    assert not violations, f"{path} as {who or 'a visitor'}:\n{_report(violations)}"


# (who, page, fields to fill, the button): forms sent back with their errors
REFUSED = [
    ("", "/register", {"#email": "bukan-email", "#password": "pendek"}, "main form button"),
    ("", "/login", {"#email": "siapa@contoh.id", "#password": "salah-sekali"}, "main form button"),
    ("walker", "/journey/identity", {"#nik": "1234", "#kk": "99"}, "main form button"),
]  # fmt: skip


@pytest.mark.parametrize(("who", "path", "fields", "submit"), REFUSED, ids=[r[1] for r in REFUSED])
def test_a_form_sent_back_with_errors_has_no_accessibility_violations(
    site: Site, browser: Any, who: str, path: str, fields: dict[str, str], submit: str
):
    with phone_page(browser, site.url, bypass_csp=True) as page:
        page.set_viewport_size(NARROW)
        _sign_in(site, page, who)
        page.goto(path)
        for selector, value in fields.items():
            page.fill(selector, value)
        page.click(submit)
        page.wait_for_load_state()
        assert page.locator("[role=alert], .error, .errors").count() > 0, page.content()[-1500:]
        violations = _violations(page)
    assert not violations, f"{path} refused:\n{_report(violations)}"
