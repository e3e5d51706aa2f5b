"""A new citizen walks the whole registration journey in Chromium, without JavaScript.

Real counterparts only: the emailed link and login code arrive at an SMTP server run by the test
(aiosmtpd), the SMS code at the SMS gateway simulator, the NIK is checked by the civil-registry
simulator and the selfie by the face-check simulator, all over loopback sockets. Jobs (the
deliveries) run between steps with `jobs.run_until_idle`, as `prakerja worker` would run them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from prakerja.kit import jobs
from prakerja.kit.db import Database
from prakerja.settings import get_settings
from prakerja.sim.face import sample_image
from prakerja.sim.population import Person as SimPerson
from tests.browser.conftest import phone_page
from tests.fixtures_sim import Mailbox, RegistrySim, SmsSim, pointed_at

pytestmark = pytest.mark.browser

PASSWORD = "Kopi-tubruk-Senja-2026"
PHONE = "0812 7788 9900"
LINK = re.compile(r"https?://\S+/verify-email\?token=\S+")
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def app(
    db: Database, registry_sim: RegistrySim, face_sim: Any, sms_sim: SmsSim, smtp_server: Mailbox
):  # type: ignore[no-untyped-def]
    """The app, built after every simulator is up so its settings point at them."""
    from prakerja.app import create_app

    return create_app(get_settings(), db)


@pytest.fixture
def linked(live_url: str) -> Iterator[str]:
    """Links in emails point at the live server (PRAKERJA_BASE_URL)."""
    with pointed_at(base_url=live_url):
        yield live_url


@pytest.fixture
def nojs(browser: Any, linked: str) -> Iterator[Any]:
    """A phone-sized page with JavaScript switched off: the portal must work without it."""
    with phone_page(browser, linked, javascript=False) as pg:
        yield pg


def adult(registry_sim: RegistrySim, skip: int = 0) -> SimPerson:
    """A person the registry knows, aged 25-40 today (inside every policy's age window)."""
    today = dt.datetime.now(dt.UTC).date()
    fits = [
        p
        for p in registry_sim.population.people()
        if 25 * 366 < (today - p.birth_date).days < 40 * 365
    ]
    return fits[skip]


def correct_answers() -> dict[str, int]:
    """Question id -> index of the right option, from the question bank itself."""
    bank = resources.files("prakerja.registration").joinpath("data/questions.json")
    return {q["id"]: q["answer"] for q in json.loads(bank.read_text())["questions"]}


def run_jobs(db: Database) -> None:
    """Deliver whatever the last request queued (email, SMS)."""
    jobs.run_until_idle(db)


def status(page: Any) -> str:
    return str(page.locator("#status").inner_text())


def register_and_log_in(page: Any, db: Database, mailbox: Mailbox, email: str) -> None:
    """Account, emailed link, then login with password and the emailed 6-digit code."""
    page.goto("/register")
    assert page.locator("h1").inner_text() == "Buat akun"
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Daftar").click()
    assert page.locator("h1").inner_text() == "Periksa email Anda"
    run_jobs(db)
    link = LINK.search(mailbox.latest_text(email))
    assert link, "the confirmation email carries no link"
    page.goto(link.group(0))
    assert page.locator("h1").inner_text() == "Email terkonfirmasi"
    page.get_by_role("link", name="Masuk").last.click()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Lanjutkan").click()
    assert page.locator("h1").inner_text() == "Masukkan kode masuk Anda"
    run_jobs(db)
    mail = mailbox.wait_for(email, count=2)
    body = mail.get_body(preferencelist=("plain",))
    code = CODE.search(str(body.get_content()) if body else "")  # type: ignore[attr-defined]
    assert code, "the login email carries no 6-digit code"
    page.fill("#code", code.group(1))
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/dashboard")


def submit_identity(page: Any, who: SimPerson, *, fresh: bool = True) -> None:
    """Fill and send the identity form (on a freshly opened page, or the one shown now)."""
    if fresh:
        page.goto("/journey/identity")
    page.fill("#nik", who.nik)
    page.fill("#kk", who.kk)
    page.fill("#birth_date", who.birth_date.isoformat())
    page.get_by_role("button", name="Periksa identitas saya").click()


def fill_profile(page: Any, who: SimPerson) -> None:
    page.fill("#full_name", who.name)
    page.fill("#mother_name", who.mother_name)
    page.fill("#address", who.address)
    page.select_option("#domicile_regency_code", who.regency_code)
    page.select_option("#village_type", who.village_type)
    page.select_option("#education", "sma")
    page.select_option("#marital_status", "married")
    page.fill("#dependants", "2")
    page.select_option("#employment_status", "unemployed")
    page.select_option("#occupation", "none")
    page.fill("#desired_training", "Pemasaran digital")
    page.get_by_role("button", name="Simpan profil").click()


def upload_ktp_and_face(page: Any, tmp_path: Path) -> None:
    photo = tmp_path / "ktp.png"
    photo.write_bytes(sample_image("pass", size=32))
    page.get_by_role("link", name=re.compile("Lanjutkan")).click()
    assert page.locator("h1").inner_text() == "Foto KTP"
    page.set_input_files("#photo", str(photo))
    page.get_by_role("button", name="Unggah").click()
    assert status(page) == "Selanjutnya, lakukan verifikasi wajah."
    selfie = tmp_path / "selfie.png"
    selfie.write_bytes(sample_image("pass"))
    page.get_by_role("link", name=re.compile("Lanjutkan")).click()
    page.set_input_files("#photo", str(selfie))
    page.check("input[name=blink]")
    page.get_by_role("button", name="Periksa wajah saya").click()


def confirm_phone(page: Any, db: Database, sms: SmsSim) -> None:
    page.get_by_role("link", name=re.compile("Lanjutkan")).click()
    page.fill("#phone", PHONE)
    page.get_by_role("button", name="Kirim kode").click()
    assert "Kami sudah mengirim kode 6 angka lewat SMS" in page.locator("#code-sent").inner_text()
    run_jobs(db)
    texts = sms.wait_for(PHONE.replace(" ", ""))
    code = CODE.search(texts[-1])
    assert code, "the SMS carries no 6-digit code"
    page.fill("#code", code.group(1))
    page.get_by_role("button", name="Konfirmasi").click()


def fill_statement(page: Any) -> None:
    page.get_by_role("link", name=re.compile("Lanjutkan")).click()
    page.check("input[name=work_status][value=not_working]")
    page.check("input[name=laid_off_recently][value=yes]")
    page.check("input[name=in_formal_education][value=no]")
    page.select_option("#public_position", "none")
    page.check("input[name=commit_to_finish][value=yes]")
    page.get_by_role("button", name=re.compile("Simpan")).click()


def take_test(page: Any) -> int:
    """Start the test and answer every question right; returns how many were asked."""
    page.get_by_role("button", name=re.compile("Mulai")).click()
    # count() does not wait: wait for the form's last element so every question is parsed
    submit = page.get_by_role("button", name=re.compile("Kirim jawaban"))
    submit.wait_for()
    answers = correct_answers()
    names = {
        page.locator("input[type=radio]").nth(i).get_attribute("name")
        for i in range(page.locator("input[type=radio]").count())
    }
    for name in sorted(n for n in names if n):
        qid = name.removeprefix("q_")
        page.check(f"input[name={name}][value='{answers[qid]}']")
    assert names, "the test page shows no question"
    submit.click()
    return len(names)


def test_a_new_citizen_registers_end_to_end_without_javascript(
    nojs: Any,
    db: Database,
    smtp_server: Mailbox,
    sms_sim: SmsSim,
    registry_sim: RegistrySim,
    tmp_path: Path,
) -> None:
    page, who = nojs, adult(registry_sim)
    email = f"warga.{uuid.uuid4().hex[:8]}@contoh.id"
    register_and_log_in(page, db, smtp_server, email)
    assert page.locator("h1").inner_text() == "Pendaftaran Anda"
    assert "NIK" in status(page)
    submit_identity(page, who)
    assert status(page) == "NIK Anda sudah terverifikasi. Selanjutnya, lengkapi profil Anda."
    assert page.locator("#nik-masked").inner_text() == who.nik[:4] + "*" * 8 + who.nik[-4:]
    page.get_by_role("link", name=re.compile("Lanjutkan")).click()
    fill_profile(page, who)
    assert status(page) == "Selanjutnya, unggah foto KTP Anda."
    upload_ktp_and_face(page, tmp_path)
    assert status(page) == "Selanjutnya, konfirmasi nomor ponsel Anda."
    confirm_phone(page, db, sms_sim)
    assert status(page) == "Selanjutnya, isi pernyataan pendaftar."
    fill_statement(page)
    asked = take_test(page)
    assert page.locator("h1").inner_text() == "Hasil tes"
    assert page.locator(".status").inner_text() == "Anda lulus."
    assert page.locator("#score").inner_text().startswith(f"{asked} / {asked}")
    page.get_by_role("link", name="Lanjutkan").click()
    assert status(page) == "Pendaftaran Anda sudah lengkap."
    eligibility = page.locator("#eligibility")
    assert eligibility.locator("h2").inner_text() == "Kelayakan"
    expect(eligibility.locator(".ok")).to_have_count(1)
    expect(page.locator(".steps .done")).to_have_count(7)
    expect(page.locator("#next-step")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "dashboard-390.png"), full_page=True)


def logged_in_citizen(db: Database) -> tuple[int, str]:
    """A verified citizen account with an open web session: (account id, session token)."""
    from prakerja.identity.model import Account
    from prakerja.identity.service_session import open_session

    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        account = Account(
            public_id=uuid.uuid4().hex,
            email=f"w{uuid.uuid4().hex[:8]}@contoh.id",
            password_hash="not-a-login",
            kind="citizen",
            roles="",
            status="active",
            language="id",
            failed_logins=0,
            created_at=now,
            email_verified_at=now,
        )
        s.add(account)
        s.flush()
        return account.id, open_session(s, account_id=account.id, ip="127.0.0.1", now=now).token


def holds_nik(db: Database, account_id: int) -> bool:
    from prakerja.registration.model import Person

    with db.transaction() as s:
        person = s.query(Person).filter_by(account_id=account_id).one_or_none()
        return person is not None and person.nik_bidx is not None


def field_errors(page: Any, name: str) -> list[str]:
    """The errors shown next to a field (which is marked invalid)."""
    assert page.locator(f"#{name}").get_attribute("aria-invalid") == "true"
    errors = page.locator(f"#{name}-error p.error")
    errors.first.wait_for()  # all_inner_texts() does not wait
    return list(errors.all_inner_texts())


def test_bad_and_duplicate_nik_show_errors_next_to_the_field_without_javascript(
    nojs: Any, db: Database, registry_sim: RegistrySim, linked: str
) -> None:
    from prakerja.registration import service

    page, who, other = nojs, adult(registry_sim, 1), adult(registry_sim, 2)
    holder, _ = logged_in_citizen(db)
    with db.transaction() as s:
        service.submit_identity(
            s,
            account_id=holder,
            nik=who.nik,
            kk=who.kk,
            birth_date=who.birth_date,
            now=dt.datetime.now(dt.UTC),
        )
    account_id, token = logged_in_citizen(db)
    page.context.add_cookies([{"name": "pk_session", "value": token, "url": linked}])
    asked = registry_sim.process.stats()

    submit_identity(page, replace(other, nik="3201-abc"))
    assert field_errors(page, "nik") == ["NIK hanya berisi angka", "NIK terdiri dari 16 angka"]
    impossible = other.nik[:6] + "99" + other.nik[8:]  # day 99 exists for nobody
    submit_identity(page, replace(other, nik=impossible))
    assert field_errors(page, "nik") == ["Tanggal lahir dalam NIK bukan tanggal yang ada"]
    assert page.locator("#nik").input_value() == impossible  # the typed value stays
    assert registry_sim.process.stats() == asked  # refused before any registry call

    submit_identity(page, who)
    assert field_errors(page, "nik") == ["NIK ini sudah terdaftar"]
    assert not holds_nik(db, account_id)
    assert holds_nik(db, holder)

    submit_identity(page, other, fresh=False)  # the refused page's own form still works
    assert status(page) == "NIK Anda sudah terverifikasi. Selanjutnya, lengkapi profil Anda."
    assert holds_nik(db, account_id)
