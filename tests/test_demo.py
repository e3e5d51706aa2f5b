"""`prakerja demo`: the seeded programme holds every stage of the journey for real, its logins
work, its pages answer in Bahasa Indonesia, and `--serve` runs the app with the simulators so a
course bought in the browser is confirmed by the simulated platform over the partner API."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy import func, select

from prakerja import demo
from prakerja.identity.model import Account
from prakerja.identity.passwords import verify_password
from prakerja.kit.db import Database
from prakerja.learning import service_completion
from prakerja.learning.model import Certificate, Completion, Review
from prakerja.marketplace import service_catalogue, service_partner
from prakerja.marketplace.model import Order
from prakerja.selection import service as selection
from prakerja.selection.model import Application
from prakerja.wallet import service_card
from prakerja.wallet.check import check_ledger
from prakerja.wallet.model_card import Card
from prakerja.wallet.service import balance
from tests.fixtures_sim import pointed_at
from tests.livesrv import free_port

pytestmark = pytest.mark.xdist_group("demo")
POPULATION, CITIZENS = 5_000, 1_000  # about 400 finished registration, 130 winners
BALANCE = 3_500_000  # the 2023+ policy's training balance
CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class Seeded:
    db: Database
    logins: demo.DemoLogins
    seconds: float


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Seeded]:
    """One demo seeded into a temporary SQLite database and var dir, for the whole module."""
    from prakerja.learning import signing

    root = tmp_path_factory.mktemp("demo")
    shutil.copy(sqlite_template, root / "demo.db")
    workdir = root / "var" / "demo"
    workdir.mkdir(parents=True)
    db = Database(f"sqlite:///{root / 'demo.db'}")
    with pointed_at(var_dir=str(root / "var")):
        signing.reload()
        started = time.perf_counter()
        logins = demo.seed(
            db,
            workdir,
            population=POPULATION,
            citizens=CITIZENS,
            console=Console(file=io.StringIO()),
        )
        yield Seeded(db, logins, time.perf_counter() - started)
    signing.reload()
    db.dispose()


def _account(session: Any, email: str) -> Account:
    return session.scalars(select(Account).where(Account.email == email)).one()


def _orders_of(session: Any, email: str) -> list[Order]:
    card = service_card.card_for_account(session, _account(session, email).id)
    assert card is not None, f"{email} holds no card"
    return list(session.scalars(select(Order).where(Order.card_id == card.id)))


def test_seeding_is_quick(seeded: Seeded) -> None:
    assert seeded.seconds < 60


def test_the_demo_wave_is_drawn_with_winners_and_non_winners(seeded: Seeded) -> None:
    later = seeded.logins.later
    with seeded.db.transaction() as s:
        wave = selection.wave_by_code(s, later["wave.drawn"])
        statuses = dict(
            s.execute(
                select(Application.status, func.count())
                .where(Application.wave_id == wave.id)
                .group_by(Application.status)
            ).all()
        )
        assert wave.status == "purchase_window"
        assert wave.winners == statuses["selected"] == int(later["wave.winners"]) > 0
        assert statuses["not_selected"] > 0
        assert wave.pool_sha256
        assert wave.winners_sha256
        assert len(selection.quotas_of(s, wave.id)) == 514  # every kabupaten/kota has a quota
        assert selection.wave_by_code(s, later["wave.open"]).status == "open"


def test_every_winner_holds_a_card_with_the_policy_balance(seeded: Seeded) -> None:
    later = seeded.logins.later
    with seeded.db.transaction() as s:
        wave = selection.wave_by_code(s, later["wave.drawn"])
        cards = s.scalars(select(Card).where(Card.wave_id == wave.id)).all()
        assert len(cards) == wave.winners
        fresh = service_card.card_for_account(s, _account(s, later["recipient.fresh"]).id)
        assert fresh is not None
        assert fresh.ledger_account_id is not None
        assert balance(s, fresh.ledger_account_id) == (BALANCE, BALANCE)
        assert service_card.policy_for(s, fresh.policy_version_id).training_balance == BALANCE
        assert check_ledger(s) == []


def test_partners_are_curated_to_active_with_the_platforms_credential(seeded: Seeded) -> None:
    later = seeded.logins.later
    with seeded.db.transaction() as s:
        status = {p.code: p.status for p in service_partner.list_partners(s)}
        platform = service_partner.partner_by_code(s, later["platform.code"])
        creds = service_partner.signing_secret(s, platform.id)
    assert status[later["platform.code"]] == status["lp-maju"] == status["lpk-terampil"] == "active"
    assert {"due_diligence", "assessment", "rejected"} <= set(status.values())
    assert creds == (later["platform.client_id"], later["platform.secret"])
    assert platform.webhook_url == f"{later['platform.url']}/webhooks"


def test_the_catalogue_sells_courses_in_every_mode_with_sessions_for_live_ones(
    seeded: Seeded,
) -> None:
    with seeded.db.transaction() as s:
        courses = service_catalogue.search(s, limit=100)
        modes = {c.mode for c in courses}
        live = [c for c in courses if c.mode != "self_paced"]
        assert len(courses) >= 7
        assert modes == {"webinar", "self_paced", "offline"}
        assert len({c.category for c in courses}) >= 5
        assert all(service_catalogue.sessions_of(s, c.id) for c in live)
        statuses = {c.status for c in service_catalogue.list_courses(s)}
        assert {"approved", "submitted", "rejected"} <= statuses


def test_recipients_stand_at_every_point_of_learning(seeded: Seeded) -> None:
    later = seeded.logins.later
    with seeded.db.transaction() as s:
        assert _orders_of(s, later["recipient.fresh"]) == []
        (learning,) = _orders_of(s, later["recipient.learning"])
        assert learning.status == "confirmed"
        assert learning.voucher_redeemed_at is not None
        (to_review,) = _orders_of(s, later["recipient.to_review"])
        assert to_review.status == "confirmed"
        assert s.scalar(select(Completion.id).where(Completion.order_id == to_review.id))
        assert s.scalar(select(Review.id).where(Review.order_id == to_review.id)) is None
        (reviewed,) = _orders_of(s, later["recipient.reviewed"])
        assert reviewed.status == "completed"
        assert s.scalar(select(Review.stars).where(Review.order_id == reviewed.id)) == 5


def test_the_demo_certificate_verifies(seeded: Seeded) -> None:
    with seeded.db.transaction() as s:
        cert = s.scalars(
            select(Certificate).where(Certificate.public_id == seeded.logins.later["certificate"])
        ).one()
        valid, facts = service_completion.check_certificate(cert)
    assert valid
    assert facts["course"]["title"] == "Dasar Pemrograman Python"


def test_every_demo_login_has_the_demo_password(seeded: Seeded) -> None:
    logins = seeded.logins
    emails = [email for email, _ in logins.staff.values()]
    emails += [logins.walker, logins.ready]
    emails += [v for k, v in logins.later.items() if k.startswith("recipient.")]
    with seeded.db.transaction() as s:
        for email in emails:
            account = _account(s, email)
            assert account.status == "active"
            assert verify_password(account.password_hash, demo.DEMO_PASSWORD), email
    assert all(secret for _, secret in logins.staff.values())


def test_the_desks_have_work(seeded: Seeded) -> None:
    from prakerja.feedback.model import Ticket
    from prakerja.learning import service_quality

    with seeded.db.transaction() as s:
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        board = service_quality.course_board(s)
    assert int(seeded.logins.later["feedback.messages"]) >= 10
    assert (tickets or 0) >= 10
    assert any(row.reviews for row, _, _ in board)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _newest_code(read: Any, recipient: str, channel: str) -> str:
    """The 6-digit code of the newest email or SMS to `recipient` (what the dev inbox shows)."""
    body = read(
        "SELECT body FROM notification WHERE recipient = ? AND channel = ? ORDER BY id DESC",
        recipient,
        channel,
    )
    found = CODE.search(body or "")
    assert found, f"no code sent to {recipient}"
    return found.group(1)


def _log_in(client: Any, email: str, read: Any) -> None:
    """The login form, then the emailed code."""
    page = client.get("/login")
    page = client.post(
        "/login",
        data={"email": email, "password": demo.DEMO_PASSWORD, "csrf_token": _csrf(page.text)},
    )
    code = _newest_code(read, email, "email")
    done = client.post("/login/code", data={"code": code, "csrf_token": _csrf(page.text)})
    assert done.status_code == 200
    assert done.url.path == "/dashboard"


def test_the_seeded_pages_answer_in_indonesian(seeded: Seeded) -> None:
    from fastapi.testclient import TestClient

    from prakerja.app import create_app
    from prakerja.settings import get_settings

    later = seeded.logins.later

    def read(sql: str, *args: Any) -> Any:
        with seeded.db.engine.connect() as conn:
            return conn.exec_driver_sql(sql, args).scalar()

    app = create_app(get_settings(), seeded.db)
    with TestClient(app, base_url="http://testserver") as client:
        assert "Pemasaran Digital untuk UMKM" in client.get("/courses").text
        verdict = client.get(f"/certificates/{later['certificate']}")
        assert verdict.status_code == 200
        assert "Sertifikat sah" in verdict.text
        assert client.get(f"/waves/{later['wave.drawn']}").status_code == 200
        _log_in(client, later["recipient.fresh"], read)
        assert "Rp3.500.000" in client.get("/card").text
    with TestClient(app, base_url="http://testserver") as client:
        # the partner reported the course complete: the dashboard's one next step is the review
        _log_in(client, later["recipient.to_review"], read)
        dashboard = client.get("/dashboard").text
        assert (
            "Pelatihan Dasar Pemrograman Python sudah selesai. Beri nilai dan ulasan" in dashboard
        )


# --- `prakerja demo --serve` as a newcomer runs it ---------------------------------------------


def _demo_env(root: Path, port: int) -> dict[str, str]:
    """Everything on free loopback ports and in `root`, the simulators without added latency."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRAKERJA_")}
    sims = {name: free_port() for name in ("SMS_GATEWAY_URL", "REGISTRY_URL", "FACE_URL")}
    return env | {
        "PRAKERJA_DATABASE_URL": f"sqlite:///{root / 'demo.db'}",
        "PRAKERJA_VAR_DIR": str(root / "var"),
        "PRAKERJA_BASE_URL": f"http://127.0.0.1:{port}",
        "PRAKERJA_SMTP_PORT": str(free_port()),
        "PRAKERJA_DEMO_PLATFORM_PORT": str(free_port()),
        "PRAKERJA_SIM_LATENCY_MS": "0-2",
        **{f"PRAKERJA_{name}": f"http://127.0.0.1:{p}" for name, p in sims.items()},
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`prakerja demo --serve` on a free port; stopped (with its simulators) afterwards."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "prakerja"),
        "demo",
        "--serve",
        "--port",
        str(port),
    ]
    command += ["--population", str(POPULATION), "--citizens", str(CITIZENS)]
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        command, env=_demo_env(tmp_path, port), stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, tmp_path / "demo.log")
        yield url, tmp_path / "demo.db"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the demo exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the demo did not answer in 120 s:\n{log.read_text()[-3000:]}")


def _fresh_recipient(log_text: str) -> str:
    found = re.search(r"nothing bought yet\):\s*(\S+@prakerja\.example)", log_text)
    assert found, "the banner names no recipient to buy a course"
    return found.group(1)


def _buy(client: httpx.Client, read: Any, email: str, course_ref: str) -> str:
    """The fresh recipient buys a course with the card number and the SMS code; its order id."""
    card_number, phone = read(
        "SELECT c.number, a.phone FROM card c JOIN person p ON p.id = c.person_id"
        " JOIN account a ON a.id = p.account_id WHERE a.email = ?",
        email,
        one=True,
    )
    course = read("SELECT public_id FROM course WHERE external_ref = ?", course_ref)
    page = client.get(f"/courses/{course}")
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key
    form = {"card_number": card_number, "key": key.group(1), "csrf_token": _csrf(page.text)}
    code_page = client.post(f"/courses/{course}/buy", data=form)
    assert code_page.url.path.endswith("/code"), code_page.text[-500:]
    code = _newest_code(read, phone, "sms")
    placed = client.post(
        code_page.url.path, data={"code": code, "csrf_token": _csrf(code_page.text)}
    )
    assert placed.url.path == "/orders"
    return code_page.url.path.split("/")[2]


@pytest.mark.slow
def test_demo_serve_lets_a_newcomer_buy_a_course_the_platform_confirms(
    served: tuple[str, Path],
) -> None:
    url, db_path = served

    def read(sql: str, *args: Any, one: bool = False) -> Any:
        with sqlite3.connect(db_path, timeout=10) as conn:
            row = conn.execute(sql, args).fetchone()
        return row if one else (row[0] if row else None)

    with httpx.Client(base_url=url, follow_redirects=True, timeout=30) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "Daftar" in home.text
        catalogue = client.get("/courses")
        assert catalogue.status_code == 200
        assert "Pemasaran Digital untuk UMKM" in catalogue.text
        banner = (db_path.parent / "demo.log").read_text()
        email = _fresh_recipient(banner)
        _log_in(client, email, read)
        order = _buy(client, read, email, "desain-canva")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status, redeemed = read(
            "SELECT status, voucher_redeemed_at FROM market_order WHERE public_id = ?",
            order,
            one=True,
        )
        if status == "confirmed" and redeemed:
            return
        time.sleep(1)
    pytest.fail(f"the platform did not confirm and redeem order {order}: {status}")
