"""KTP upload, face check and phone steps (face and SMS simulators)."""

import datetime as dt
import re
import uuid

import pytest

from prakerja.identity import vault
from prakerja.identity.errors import WrongCode
from prakerja.kit import jobs
from prakerja.kit.clock import utc_now
from prakerja.registration import service, service_media
from prakerja.settings import get_settings
from prakerja.sim.face import sample_image
from tests.burst import at_once
from tests.fixtures_sim import pointed_at
from tests.registration.conftest import make_citizen, person_row, walk

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 64


def upload(db, citizen, data):
    with db.transaction() as s:
        return service_media.upload_ktp(s, account_id=citizen.account_id, data=data, now=utc_now())


def face(db, citizen, image, blink, now=None):
    with db.transaction() as s:
        return service_media.face_check(
            s, account_id=citizen.account_id, image=image, blink=blink, now=now or utc_now()
        )


def test_a_jpeg_or_png_ktp_is_stored_encrypted(db, people):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "ktp")
    upload(db, citizen, JPEG)
    row = person_row(db, citizen.account_id)
    assert row["ktp_content_type"] == "image/jpeg"
    assert row["ktp_done_at"] is not None
    assert vault.decrypt(row["ktp_photo_enc"]) == JPEG
    assert JPEG not in row["ktp_photo_enc"]
    upload(db, citizen, sample_image())  # may be replaced
    assert person_row(db, citizen.account_id)["ktp_content_type"] == "image/png"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"GIF89a" + b"\x00" * 40, "file_type"),
        (b"<svg onload=alert(1)>", "file_type"),
        (b"%PDF-1.7\n", "file_type"),
        (b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024), "file_too_large"),
    ],
)
def test_a_wrong_type_empty_or_oversized_upload_is_refused_and_changes_nothing(
    db, people, data, code
):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "ktp")
    before = person_row(db, citizen.account_id)
    with pytest.raises(service.FormInvalid) as exc:
        upload(db, citizen, data)
    assert [e.code for e in exc.value.errors] == [code]
    assert person_row(db, citizen.account_id) == before
    assert get_settings().upload_max_bytes == 2 * 1024 * 1024


def test_the_face_check_passes_with_a_blink(db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    face(db, citizen, sample_image(), blink=True)
    row = person_row(db, citizen.account_id)
    assert (row["face_status"], row["face_attempts"]) == ("pass", 1)
    assert row["face_done_at"] is not None


def test_a_failed_face_check_shows_the_reason_and_allows_a_retry(db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    face(db, citizen, sample_image(), blink=False)
    row = person_row(db, citizen.account_id)
    assert (row["face_status"], row["face_reason"], row["face_done_at"]) == (
        "fail",
        "no_blink",
        None,
    )
    face(db, citizen, sample_image("low_quality"), blink=True)
    assert person_row(db, citizen.account_id)["face_reason"] == "low_quality"
    face(db, citizen, sample_image(), blink=True)
    row = person_row(db, citizen.account_id)
    assert (row["face_status"], row["face_attempts"]) == ("pass", 3)


def test_five_face_attempts_a_day_then_refused_until_tomorrow(db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 08:00 in Jakarta
    for _ in range(5):
        face(db, citizen, sample_image("face_not_matching"), blink=True, now=now)
    before = person_row(db, citizen.account_id)
    with pytest.raises(service_media.FaceAttemptsExhausted):
        face(db, citizen, sample_image(), blink=True, now=now + dt.timedelta(hours=12))
    assert person_row(db, citizen.account_id) == before
    tomorrow = now + dt.timedelta(hours=23)  # 07:00 the next Jakarta day
    face(db, citizen, sample_image(), blink=True, now=tomorrow)
    assert person_row(db, citizen.account_id)["face_status"] == "pass"


def test_an_unavailable_face_service_costs_no_attempt(db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    before = person_row(db, citizen.account_id)
    with (
        pointed_at(face_url="http://127.0.0.1:9"),
        pytest.raises(service_media.FaceServiceUnavailable),
    ):
        face(db, citizen, sample_image(), blink=True)
    assert person_row(db, citizen.account_id) == before


def test_the_face_check_refuses_a_non_image(db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    with pytest.raises(service.FormInvalid):
        face(db, citizen, b"not an image", blink=True)
    assert person_row(db, citizen.account_id)["face_attempts"] == 0


def test_face_before_the_ktp_is_out_of_order(db, people, face_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "ktp")
    with pytest.raises(service.StepOutOfOrder):
        face(db, citizen, sample_image(), blink=True)


def test_the_phone_is_confirmed_by_the_sms_code(db, people, face_sim, sms_sim):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "phone")
    number = "0812" + str(uuid.uuid4().int)[:8]  # unique: the simulator outlives each test
    with db.transaction() as s:
        service_media.start_phone(s, account_id=citizen.account_id, phone=number, now=utc_now())
    jobs.run_until_idle(db)
    text = sms_sim.wait_for(number)[-1]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(WrongCode), db.transaction() as s:
        service_media.confirm_phone(s, account_id=citizen.account_id, code=wrong, now=utc_now())
    assert person_row(db, citizen.account_id)["phone_done_at"] is None
    with db.transaction() as s:
        service_media.confirm_phone(s, account_id=citizen.account_id, code=code, now=utc_now())
    assert person_row(db, citizen.account_id)["phone_done_at"] is not None
    with db.transaction() as s:
        assert (
            service.steps.next_step(
                service.find_person(s, citizen.account_id),
                service.account_of(s, citizen.account_id),
            )
            == "statement"
        )


def test_face_checks_sent_at_once_count_at_most_five_a_day(db, people, face_sim):
    """The attempt is taken by one conditional UPDATE before the vendor sees the photo, so
    checks in parallel cannot each read '0 used' and all reach the vendor."""
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    check = lambda: face(db, citizen, sample_image("face_not_matching"), blink=True)  # noqa: E731
    outcomes = at_once([check] * 12)
    assert sorted(outcomes) == ["face_attempts_exhausted"] * 7 + ["ok"] * 5, outcomes
    assert person_row(db, citizen.account_id)["face_attempts"] == 5


def test_an_unavailable_face_service_costs_no_attempt_even_if_the_caller_commits(
    db, people, face_sim
):
    who, citizen = next(people), make_citizen(db)
    walk(db, citizen, who, "face")
    before = person_row(db, citizen.account_id)
    with (
        pointed_at(face_url="http://127.0.0.1:9"),
        db.transaction() as s,
        pytest.raises(service_media.FaceServiceUnavailable),
    ):
        service_media.face_check(
            s, account_id=citizen.account_id, image=sample_image(), blink=True, now=utc_now()
        )
    assert person_row(db, citizen.account_id) == before
