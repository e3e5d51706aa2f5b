"""The KTP photo, face check and phone steps.

Uploads are accepted by their magic bytes (JPEG or PNG), never by the name or declared type,
and stored encrypted. The face check allows 5 attempts per Jakarta day; a partner that does not
answer costs no attempt and changes nothing.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from prakerja.identity import service as identity
from prakerja.identity import vault
from prakerja.kit.clock import jakarta_date
from prakerja.kit.counters import Allowance
from prakerja.kit.errors import RateLimited, Unavailable
from prakerja.registration.model import Person
from prakerja.registration.service import (
    FieldError,
    FormInvalid,
    mark_step,
    person_for_account,
    require_step,
)
from prakerja.settings import get_settings

FACE_ATTEMPTS_PER_DAY = 5
_FACE_CHECKS = Allowance(  # taken before the vendor sees the photo
    Person.face_attempts, FACE_ATTEMPTS_PER_DAY, period=Person.face_attempts_day
)
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


class FaceAttemptsExhausted(RateLimited):
    code = "face_attempts_exhausted"
    title = "You have used all 5 face-check attempts for today. Please try again tomorrow."


class FaceServiceUnavailable(Unavailable):
    code = "face_unavailable"
    title = "The face check service is not answering. Please try again in a few minutes."


def image_type(data: bytes, field: str) -> str:
    """The content type of a JPEG or PNG image, by its bytes; FormInvalid for anything else,
    an empty file or one over the upload limit."""
    limit = get_settings().upload_max_bytes
    if not data:
        raise FormInvalid([FieldError(field, "empty_file", "Choose a photo to upload.")])
    if len(data) > limit:
        raise FormInvalid(
            [
                FieldError(
                    field,
                    "file_too_large",
                    "The photo is too large (at most %(mb)s MB).",
                    (("mb", f"{limit / 1_048_576:g}"),),
                )
            ]
        )
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    raise FormInvalid([FieldError(field, "file_type", "Upload a JPEG or PNG photo.")])


def upload_ktp(session: Session, *, account_id: int, data: bytes, now: dt.datetime) -> Person:
    """Store the KTP photo encrypted (replacing an earlier one) and complete the step."""
    person = person_for_account(session, account_id, now=now)
    require_step(session, person, "ktp")
    content_type = image_type(data, "photo")
    person.ktp_photo_enc, person.ktp_content_type = vault.encrypt(data), content_type
    person.updated_at = now
    session.flush()
    mark_step(session, person_id=person.id, step="ktp", now=now)
    return person


def face_attempts_left(person: Person, now: dt.datetime) -> int:
    """Attempts still allowed today (Jakarta calendar day)."""
    used = person.face_attempts if person.face_attempts_day == jakarta_date(now) else 0
    return max(0, FACE_ATTEMPTS_PER_DAY - used)


def face_check(
    session: Session, *, account_id: int, image: bytes, blink: bool, now: dt.datetime
) -> Person:
    """Run one face check. Pass completes the step; fail records the reason and counts an
    attempt (the citizen may retry); no answer from the partner raises and counts nothing."""
    from prakerja.registration.face import face_client

    person = person_for_account(session, account_id, now=now)
    require_step(session, person, "face")
    image_type(image, "photo")
    if face_attempts_left(person, now) == 0:
        raise FaceAttemptsExhausted()
    with session.begin_nested():  # no answer from the vendor gives the attempt back
        if not _FACE_CHECKS.take(session, person, jakarta_date(now)):
            raise FaceAttemptsExhausted()  # parallel checks took today's last ones
        result = face_client().check(f"person-{person.id}", image, blink)
        if result.status not in ("pass", "fail"):
            raise FaceServiceUnavailable()
    person.face_status = str(result.status)
    person.face_reason = None if result.status == "pass" else str(result.reason or "")[:40]
    person.updated_at = now
    session.flush()
    if result.status == "pass":
        mark_step(session, person_id=person.id, step="face", now=now)
    return person


def start_phone(session: Session, *, account_id: int, phone: str, now: dt.datetime) -> None:
    """Send an SMS code to `phone` for this account (identity owns codes and limits)."""
    person = person_for_account(session, account_id, now=now)
    require_step(session, person, "phone")
    identity.start_phone_verification(session, account_id=account_id, phone=phone, now=now)


def confirm_phone(session: Session, *, account_id: int, code: str, now: dt.datetime) -> Person:
    """Confirm the SMS code; on success the phone step is complete."""
    person = person_for_account(session, account_id, now=now)
    require_step(session, person, "phone")
    identity.confirm_phone(session, account_id=account_id, code=code, now=now)
    mark_step(session, person_id=person.id, step="phone", now=now)
    return person
