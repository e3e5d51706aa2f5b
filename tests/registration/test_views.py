"""The journey pages through HTTP: order guards, form errors next to fields, escaping."""

import re

import pytest

from prakerja.kit.clock import utc_now
from prakerja.registration import service
from prakerja.sim.face import sample_image
from tests.registration.conftest import form_token, make_citizen, person_row, walk


def post(client, path, data, files=None):
    token = form_token(client, path)
    return client.post(
        path, data={"csrf_token": token, **data}, files=files, follow_redirects=False
    )


def test_the_dashboard_needs_a_login(client):
    resp = client.get("/dashboard", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login")


def test_a_new_citizen_sees_one_next_step_and_later_steps_redirect(client, db):
    make_citizen(db).login(client)
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert 'href="/journey/identity"' in page.text
    assert "Mulailah dengan mengisi NIK" in page.text
    assert len(re.findall(r'id="next-step"', page.text)) == 1
    for later in ("profile", "ktp", "face", "phone"):
        resp = client.get(f"/journey/{later}", follow_redirects=False)
        assert (resp.status_code, resp.headers["location"]) == (303, "/dashboard")


def test_identity_form_shows_errors_next_to_fields_in_indonesian(client, db, people):
    who, citizen = next(people), make_citizen(db)
    citizen.login(client)
    resp = post(
        client,
        "/journey/identity",
        {"nik": who.nik, "kk": "123", "birth_date": who.birth_date.isoformat()},
    )
    assert resp.status_code == 422
    assert 'id="kk-error"' in resp.text
    assert "harus tepat 16 angka" in resp.text
    assert 'aria-invalid="true"' in resp.text
    assert person_row(db, citizen.account_id) == {}


def test_a_form_without_the_csrf_token_is_refused(client, db, people):
    who, citizen = next(people), make_citizen(db)
    citizen.login(client)
    client.get("/journey/identity")
    resp = client.post(
        "/journey/identity",
        data={"nik": who.nik, "kk": who.kk, "birth_date": who.birth_date.isoformat()},
    )
    assert resp.status_code == 403
    assert person_row(db, citizen.account_id) == {}


def test_the_whole_journey_through_the_pages(client, db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    citizen.login(client)
    resp = post(
        client,
        "/journey/identity",
        {"nik": who.nik, "kk": who.kk, "birth_date": who.birth_date.isoformat()},
    )
    assert (resp.status_code, resp.headers["location"]) == (303, "/dashboard")
    page = client.get("/dashboard").text
    assert who.nik not in page
    assert who.nik[:4] + "********" + who.nik[-4:] in page
    assert 'href="/journey/profile"' in page
    resp = post(
        client,
        "/journey/profile",
        {
            "full_name": who.name,
            "mother_name": who.mother_name,
            "address": "<script>alert(1)</script> RT 1",
            "domicile_regency_code": who.regency_code,
            "village_type": "urban",
            "education": "smk",
            "marital_status": "single",
            "dependants": "0",
            "employment_status": "laid_off",
            "occupation": "labourer",
            "other_aid": ["bsu"],
            "disability": "yes",
        },
    )
    assert resp.status_code == 303, resp.text[:2000]
    again = client.get("/journey/profile").text  # revisitable; markup shown inert
    assert "&lt;script&gt;alert(1)&lt;/script&gt; RT 1" in again
    assert "<script>" not in again
    resp = post(client, "/journey/ktp", {}, files={"photo": ("k.png", sample_image(), "image/png")})
    assert resp.status_code == 303
    selfie = {"photo": ("f.png", sample_image(), "image/png")}
    resp = post(client, "/journey/face", {}, files=selfie)
    assert resp.status_code == 200
    assert "Kedipan mata tidak terdeteksi" in resp.text
    assert "Sisa percobaan hari ini: 4 dari 5" in resp.text
    resp = post(
        client,
        "/journey/face",
        {"blink": "yes"},
        files={"photo": ("f.png", sample_image(), "image/png")},
    )
    assert (resp.status_code, resp.headers["location"]) == (303, "/dashboard")
    assert 'href="/journey/phone"' in client.get("/dashboard").text


def test_a_pdf_posing_as_a_jpeg_ktp_is_refused(client, db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "ktp")
    citizen.login(client)
    before = person_row(db, citizen.account_id)
    resp = post(client, "/journey/ktp", {}, files={"photo": ("ktp.jpg", b"%PDF-1.4", "image/jpeg")})
    assert resp.status_code == 422
    assert 'id="photo-error"' in resp.text
    assert "Unggah foto JPEG atau PNG" in resp.text
    assert person_row(db, citizen.account_id) == before


def test_a_registry_mismatch_is_shown_field_by_field(client, db, people):
    who, citizen = next(people), make_citizen(db)
    other = next(p for p in people if p.kk != who.kk)
    citizen.login(client)
    resp = post(
        client,
        "/journey/identity",
        {"nik": who.nik, "kk": other.kk, "birth_date": who.birth_date.isoformat()},
    )
    assert resp.status_code == 200
    assert 'id="registry-mismatch"' in resp.text
    assert "Nomor Kartu Keluarga (KK): tidak cocok dengan data Dukcapil" in resp.text


def test_a_duplicate_nik_is_a_form_error(client, db, people):
    who = next(people)
    walk(db, make_citizen(db), who, "profile")
    make_citizen(db).login(client)
    resp = post(
        client,
        "/journey/identity",
        {"nik": who.nik, "kk": who.kk, "birth_date": who.birth_date.isoformat()},
    )
    assert resp.status_code == 422
    assert "NIK ini sudah terdaftar" in resp.text


def test_the_dashboard_explains_eligibility_once_registration_is_done(client, db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "phone")
    with db.transaction() as s:
        person = service.find_person(s, citizen.account_id)
        for step in ("phone", "statement", "test"):
            service.mark_step(s, person_id=person.id, step=step, now=utc_now())
    page = citizen.login(client).get("/dashboard")
    assert "Pendaftaran Anda sudah lengkap." in page.text
    assert 'id="eligibility"' in page.text
    assert 'id="next-step"' not in page.text


@pytest.mark.parametrize("lang", ["en"])
def test_pages_speak_english_on_request(client, db, lang):
    make_citizen(db).login(client)
    assert "Start by entering your NIK" in client.get(f"/dashboard?lang={lang}").text


def test_the_phone_page_sends_a_code_and_confirms_it(client, db, people, face_sim, sms_sim):
    import uuid

    from prakerja.kit import jobs

    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "phone")
    citizen.login(client)
    resp = post(client, "/journey/phone", {"action": "send", "phone": "12345"})
    assert resp.status_code == 422
    assert 'id="phone-error"' in resp.text
    number = "0813" + str(uuid.uuid4().int)[:8]
    resp = post(client, "/journey/phone", {"action": "send", "phone": number})
    assert resp.status_code == 200
    assert 'id="code-sent"' in resp.text
    jobs.run_until_idle(db)
    code = re.search(r"\b(\d{6})\b", sms_sim.wait_for(number)[-1]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    resp = post(client, "/journey/phone", {"action": "confirm", "code": wrong})
    assert resp.status_code == 422
    assert 'id="code-error"' in resp.text
    resp = post(client, "/journey/phone", {"action": "confirm", "code": code})
    assert (resp.status_code, resp.headers["location"]) == (303, "/dashboard")
    assert person_row(db, citizen.account_id)["phone_done_at"] is not None


def test_the_sixth_identity_check_of_the_day_is_refused_in_indonesian(client, db, people):
    who, citizen = next(people), make_citizen(db)
    other = next(p for p in people if p.kk != who.kk)
    citizen.login(client)
    data = {"nik": who.nik, "kk": other.kk, "birth_date": who.birth_date.isoformat()}
    for n in range(service.REGISTRY_ATTEMPTS_PER_DAY):
        resp = post(client, "/journey/identity", data)
        assert resp.status_code == 200
        assert f"Sisa pemeriksaan identitas hari ini: {4 - n} dari 5" in resp.text
    before = person_row(db, citizen.account_id)
    resp = post(client, "/journey/identity", {**data, "kk": who.kk})
    assert resp.status_code == 422
    assert "sudah memakai 5 kesempatan pemeriksaan identitas hari ini" in resp.text
    assert person_row(db, citizen.account_id) == before
