"""Registration use-cases: the person record, step completion and the identity step.

Every function takes the caller's session and `now`, validates everything before writing, and
only flushes. Bad input raises a DomainError and leaves the database unchanged. The NIK and KK
are held only encrypted (identity.vault) with a keyed blind index; they are never logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.identity.model import Account
from prakerja.kit import jobs
from prakerja.kit.clock import jakarta_date
from prakerja.kit.counters import Allowance
from prakerja.kit.db import ANY_UNIQUE, add_new
from prakerja.kit.errors import Conflict, Invalid, NotFound, RateLimited
from prakerja.kit.i18n import gettext
from prakerja.region import service as region
from prakerja.registration import steps
from prakerja.registration.model import STEPS, Person
from prakerja.registration.nik import mask_nik, parse_nik

RECHECK_JOB = "registration.recheck_registry"
RECHECK_DELAY = dt.timedelta(minutes=1)
# Registry-checked identity submissions allowed per person per Jakarta day: a mismatch tells
# which field is wrong, so without a cap the registry would answer guesses of a KK or birth date.
REGISTRY_ATTEMPTS_PER_DAY = 5


@dataclass(frozen=True)
class FieldError:
    """One problem with one form field: a stable code and an English msgid with parameters."""

    field: str
    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()

    def text(self, language: str = "en") -> str:
        """The message in `language`, parameters filled in."""
        return gettext(language, self.message, **dict(self.params))


class FormInvalid(Invalid):
    """Invalid input with one entry per field problem (problem+json `field_errors`)."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(errors)
        items = [{"field": e.field, "code": e.code, "message": e.text()} for e in self.errors]
        super().__init__(items[0]["message"] if items else self.title, field_errors=items)


class NikTaken(Conflict):
    code = "nik_taken"
    title = "This NIK is already registered"


class StepOutOfOrder(Conflict):
    code = "step_out_of_order"
    title = "Please complete the earlier registration steps first"


class StepLocked(Conflict):
    code = "step_locked"
    title = "This step is already complete and cannot be changed"


class IdentitySubmittedTwice(Conflict):
    code = "identity_submitted_twice"
    title = "Your identity was submitted twice at once; please wait for the first answer"


class IdentityAttemptsExhausted(RateLimited):
    code = "identity_attempts_exhausted"
    title = (
        "You have used all 5 identity checks for today. Please check your KTP and family "
        "card and try again tomorrow."
    )


# Statements of the sign-up burst, built once (building one costs more CPU than running it).
_PERSON_OF_ACCOUNT = select(Person).where(Person.account_id == bindparam("account_id"))
_NIK_ACCOUNT = select(Person.account_id).where(Person.nik_bidx == bindparam("bidx"))
_MINE_AND_NIK = select(Person.account_id, Person.nik_bidx).where(  # at most two rows
    or_(Person.account_id == bindparam("account_id"), Person.nik_bidx == bindparam("bidx"))
)


_REGISTRY_CHECKS = Allowance(  # a day's checks, also counted for the lifetime
    Person.registry_attempts_today,
    REGISTRY_ATTEMPTS_PER_DAY,
    period=Person.registry_attempts_day,
    also={Person.registry_attempts: Person.registry_attempts + 1},
)


def find_person(session: Session, account_id: int) -> Person | None:
    """The person of an account, or None before the journey started."""
    return session.scalar(_PERSON_OF_ACCOUNT, {"account_id": account_id})


def person_for_account(session: Session, account_id: int, *, now: dt.datetime) -> Person:
    """The person of an account, created (empty, at step 'identity') when missing."""
    person = find_person(session, account_id)
    if person is not None:
        return person
    person = _new_person(session, account_id, now)
    add_new(session, person)
    return person


def _new_person(session: Session, account_id: int, now: dt.datetime) -> Person:
    """An empty person at step 'identity', not yet added to the session."""
    if session.get(Account, account_id) is None:
        raise NotFound("No such account")
    return Person(
        account_id=account_id,
        registry_status="none",
        registry_detail={},
        registry_attempts=0,
        registry_attempts_today=0,
        disability=False,
        migrant_status="none",
        other_aid="",
        face_status="none",
        face_attempts=0,
        statement={},
        created_at=now,
        updated_at=now,
    )


def account_of(session: Session, account_id: int) -> Account:
    """The account (for the phone step's state); NotFound when missing."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account")
    return account


def require_step(session: Session, person: Person, step: str) -> None:
    """Refuse a step whose page is not open yet (or is finished and cannot be redone)."""
    account = session.get(Account, person.account_id)
    if steps.may_open(person, account, step):
        return
    if STEPS.index(step) < STEPS.index(steps.next_step(person, account)):
        raise StepLocked()
    raise StepOutOfOrder()


def mark_step(session: Session, *, person_id: int, step: str, now: dt.datetime) -> None:
    """Record that `step` is complete; a repeat keeps the first completion time."""
    if step not in STEPS[:-1]:
        raise Invalid(f"Unknown registration step {step!r}")
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("No such person")
    column = f"{step}_done_at"
    if getattr(person, column) is None:
        setattr(person, column, now)
        person.updated_at = now
        session.flush()


def _digits(value: str) -> str:
    return "".join(value.split())


def check_kk(kk: str) -> list[FieldError]:
    """A family card number is 16 digits starting with a known province and regency code."""
    if len(kk) != 16 or not kk.isascii() or not kk.isdigit():
        return [
            FieldError("kk", "kk_format", "The family card (KK) number must be exactly 16 digits.")
        ]
    regency = f"{kk[:2]}.{kk[2:4]}"
    if region.name_of(kk[:2]) is None or region.name_of(regency) is None:
        return [
            FieldError(
                "kk",
                "kk_region",
                "The family card (KK) number does not start with a known region code.",
            )
        ]
    return []


def _check_identity(nik: str, kk: str, birth_date: dt.date, today: dt.date) -> Any:
    """Parse and cross-check the identity inputs; raises Invalid listing every problem."""
    result = parse_nik(nik, today=today)
    errors = [FieldError("nik", e.code, e.message, e.params) for e in result.errors]
    if result.valid and result.birth_date != birth_date:
        errors.append(
            FieldError(
                "birth_date",
                "birth_date_mismatch",
                "The date of birth does not match the one in your NIK.",
            )
        )
    errors += check_kk(kk)
    if errors:
        raise FormInvalid(errors)
    return result


def _mine_and_nik_holder(session: Session, account_id: int, bidx: str) -> tuple[bool, int | None]:
    """Whether the account has a person yet, and which account's person holds the NIK with this
    blind index (None: nobody's), in one read."""
    mine, holder = False, None
    for owner, nik in session.execute(_MINE_AND_NIK, {"account_id": account_id, "bidx": bidx}):
        mine = mine or owner == account_id
        holder = owner if nik == bidx else holder
    return mine, holder


def _claim_nik(holder: int | None, person: Person) -> None:
    if holder is not None and holder != person.account_id:  # one person per account
        raise NikTaken("This NIK is already registered")


def registry_attempts_left(person: Person | None, now: dt.datetime) -> int:
    """Registry-checked identity submissions still allowed today (Jakarta calendar day)."""
    if person is None:
        return REGISTRY_ATTEMPTS_PER_DAY
    today = jakarta_date(now)
    used = person.registry_attempts_today if person.registry_attempts_day == today else 0
    return max(0, REGISTRY_ATTEMPTS_PER_DAY - (used or 0))


def _take_registry_attempt(session: Session, person: Person, today: dt.date) -> None:
    """Count one registry check for `today` (`kit.counters`: concurrent submissions cannot pass
    the cap); IdentityAttemptsExhausted (nothing written) when spent."""
    if not _REGISTRY_CHECKS.take(session, person, today):
        raise IdentityAttemptsExhausted()


def submit_identity(
    session: Session, *, account_id: int, nik: str, kk: str, birth_date: dt.date, now: dt.datetime
) -> Person:
    """Validate NIK/KK/date of birth, refuse a NIK held by another person, store them encrypted
    and ask the civil registry. Matched completes the step; mismatch keeps the person on it
    (holding no NIK); no answer leaves it pending with a re-check job. At most
    REGISTRY_ATTEMPTS_PER_DAY submissions reach the registry per Jakarta day; past that,
    IdentityAttemptsExhausted and nothing changes."""
    nik, kk = _digits(nik), _digits(kk)
    today = jakarta_date(now)
    parsed = _check_identity(nik, kk, birth_date, today)
    bidx = vault.blind_index(parsed.nik, "nik")
    mine, holder = _mine_and_nik_holder(session, account_id, bidx)
    person = find_person(session, account_id) if mine else None
    fresh = person is None
    if person is None:  # the first submission: one INSERT holds person, identity and attempt
        person = _new_person(session, account_id, now)
        require_step(session, person, "identity")
        _claim_nik(holder, person)
        person.registry_attempts = person.registry_attempts_today = 1
        person.registry_attempts_day = today
    else:
        require_step(session, person, "identity")
        if registry_attempts_left(person, now) == 0:
            raise IdentityAttemptsExhausted()
        _claim_nik(holder, person)
        _take_registry_attempt(session, person, today)
    person.nik_enc, person.nik_bidx = vault.encrypt_text(parsed.nik), bidx
    person.nik_masked = mask_nik(parsed.nik)
    person.kk_enc, person.kk_bidx = vault.encrypt_text(kk), vault.blind_index(kk, "kk")
    person.birth_date, person.sex = parsed.birth_date, parsed.sex
    person.province_code = parsed.province_code
    person.regency_code, person.district_code = parsed.regency_code, parsed.district_code
    person.updated_at = now
    if fresh:
        # Another request may have made this account's person, or claimed the NIK, since the
        # read above: the INSERT skips a colliding row (and waits for a twin still writing).
        if not add_new(session, person, unless=ANY_UNIQUE):
            holder = session.scalar(_NIK_ACCOUNT, {"bidx": bidx})
            if holder is None or holder == account_id:  # a double tap made this person first
                raise IdentitySubmittedTwice()
            raise NikTaken("This NIK is already registered")
    else:
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:  # another person claimed the same NIK just now
            session.expire(person)
            raise NikTaken("This NIK is already registered") from None
    ask_registry(session, person, nik=parsed.nik, kk=kk, now=now)
    return person


def ask_registry(session: Session, person: Person, *, nik: str, kk: str, now: dt.datetime) -> str:
    """Ask the civil registry about a stored identity and record the answer; returns it."""
    from prakerja.registration.registry import registry_client

    born = person.birth_date or dt.date.min  # always set together with the NIK
    result = registry_client().verify(nik, kk, born, None, None)
    apply_registry_result(
        session,
        person,
        status=result.status,
        fields=dict(result.fields),
        reference=result.reference,
        now=now,
    )
    return str(result.status)


def apply_registry_result(
    session: Session,
    person: Person,
    *,
    status: str,
    fields: dict[str, Any],
    reference: str | None,
    now: dt.datetime,
) -> None:
    """Record a registry answer: matched completes identity; mismatch releases the NIK so it
    cannot be squatted; unavailable makes it pending and schedules a re-check."""
    person.registry_checked_at, person.updated_at = now, now
    person.registry_detail = {"fields": fields, "reference": reference}
    if status == "matched":
        person.registry_status = "matched"
        person.identity_done_at = person.identity_done_at or now
    elif status == "mismatch":
        person.registry_status = "mismatch"
        person.nik_enc = person.nik_bidx = person.kk_enc = person.kk_bidx = None
    else:
        person.registry_status = "pending"
        jobs.enqueue(
            session,
            RECHECK_JOB,
            {"person_id": person.id},
            now=now,
            run_after=now + RECHECK_DELAY,
            key=f"{RECHECK_JOB}:{person.id}:{person.registry_attempts}",
        )
    session.flush()


def mismatch_reasons(person: Person | None) -> list[tuple[str, str]]:
    """(field, answer) pairs for the fields the registry said do not match."""
    if person is None or person.registry_status != "mismatch":
        return []
    fields = (person.registry_detail or {}).get("fields") or {}
    return [(str(k), str(v)) for k, v in fields.items() if str(v) not in ("match", "not_checked")]


def region_of(person: Person | None) -> dict[str, str | None]:
    """The KTP region codes and names of a person (from the NIK)."""
    if person is None or person.regency_code is None:
        return {
            "province_code": None,
            "province_name": None,
            "regency_code": None,
            "regency_name": None,
        }
    province, regency = person.province_code or "", person.regency_code
    return {
        "province_code": province,
        "province_name": region.name_of(province),
        "regency_code": regency,
        "regency_name": region.name_of(regency),
    }
