"""The identity step against the civil-registry simulator, on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from sqlalchemy import select

from prakerja.identity import vault
from prakerja.kit import jobs
from prakerja.kit.clock import utc_now
from prakerja.registration import service
from prakerja.registration.model import Person
from prakerja.registration.nik import parse_nik
from tests.fixtures_sim import pointed_at
from tests.registration.conftest import make_citizen, person_row

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing listens, so the registry is unavailable


def submit(db, citizen, nik, kk, born, now=None):
    with db.transaction() as s:
        return service.submit_identity(
            s, account_id=citizen.account_id, nik=nik, kk=kk, birth_date=born, now=now or utc_now()
        )


def codes(exc_info):
    return {e.code for e in exc_info.value.errors}


def test_a_matching_identity_completes_the_step_and_is_stored_encrypted(db, people):
    who, citizen = next(people), make_citizen(db)
    submit(db, citizen, who.nik, who.kk, who.birth_date)
    row = person_row(db, citizen.account_id)
    assert row["registry_status"] == "matched"
    assert row["identity_done_at"] is not None
    assert vault.decrypt_text(row["nik_enc"]) == who.nik
    assert vault.decrypt_text(row["kk_enc"]) == who.kk
    assert row["nik_bidx"] == vault.blind_index(who.nik)
    assert row["nik_masked"] == who.nik[:4] + "********" + who.nik[-4:]
    parsed = parse_nik(who.nik)
    assert (row["birth_date"], row["sex"], row["regency_code"]) == (
        who.birth_date,
        parsed.sex,
        parsed.regency_code,
    )
    assert row["registry_detail"]["reference"].startswith("DKC")
    texts = [str(v) for v in row.values()]
    assert not any(who.nik in t or who.kk in t for t in texts)  # only ciphertext and masks


@pytest.mark.parametrize(
    ("nik", "code"),
    [
        ("12345", "nik_length"),
        ("32760abc45019000", "nik_not_digits"),
        ("3276013213900001", "impossible_date"),  # day 32
        ("9976014501900001", "unknown_province"),
    ],
)
def test_a_malformed_or_impossible_nik_is_refused_and_writes_nothing(db, nik, code):
    citizen = make_citizen(db)
    with pytest.raises(service.FormInvalid) as exc:
        submit(db, citizen, nik, "3276010101100001", dt.date(1990, 1, 5))
    assert code in codes(exc)
    assert person_row(db, citizen.account_id) == {}


def test_a_birth_date_that_differs_from_the_nik_is_refused(db, people):
    who, citizen = next(people), make_citizen(db)
    with pytest.raises(service.FormInvalid) as exc:
        submit(db, citizen, who.nik, who.kk, who.birth_date + dt.timedelta(days=1))
    assert codes(exc) == {"birth_date_mismatch"}
    assert exc.value.extra["field_errors"][0]["field"] == "birth_date"
    assert person_row(db, citizen.account_id) == {}


@pytest.mark.parametrize(
    ("kk", "code"), [("32760101", "kk_format"), ("9976010101100001", "kk_region")]
)
def test_a_bad_family_card_number_is_refused(db, people, kk, code):
    who, citizen = next(people), make_citizen(db)
    with pytest.raises(service.FormInvalid) as exc:
        submit(db, citizen, who.nik, kk, who.birth_date)
    assert codes(exc) == {code}


def test_a_nik_registered_by_someone_else_is_refused_and_changes_nothing(db, people):
    who = next(people)
    first, second = make_citizen(db), make_citizen(db)
    submit(db, first, who.nik, who.kk, who.birth_date)
    with db.transaction() as s:  # the second citizen already has a person row
        service.person_for_account(s, second.account_id, now=utc_now())
    before = person_row(db, second.account_id)
    with pytest.raises(service.NikTaken) as exc:
        submit(db, second, who.nik, who.kk, who.birth_date)
    assert exc.value.detail == "This NIK is already registered"
    assert person_row(db, second.account_id) == before
    assert person_row(db, first.account_id)["registry_status"] == "matched"


def test_a_first_submission_by_a_new_person_is_one_insert_refused_for_a_held_nik(db, people):
    """No person row yet: the NIK check, the person, the identity and the first attempt are
    written together; a NIK already held is refused and leaves no person behind."""
    who = next(people)
    first, second = make_citizen(db), make_citizen(db)
    submit(db, first, who.nik, who.kk, who.birth_date)
    assert person_row(db, first.account_id)["registry_attempts"] == 1
    assert person_row(db, first.account_id)["registry_attempts_today"] == 1
    with pytest.raises(service.NikTaken):
        submit(db, second, who.nik, who.kk, who.birth_date)
    assert person_row(db, second.account_id) == {}


def test_a_nik_claimed_between_the_check_and_the_insert_is_still_refused(db, people, monkeypatch):
    """The race window: another account's person took the NIK after this request looked. The
    unique index refuses the insert, and the answer is NikTaken with nothing written."""
    who = next(people)
    first, second = make_citizen(db), make_citizen(db)
    submit(db, first, who.nik, who.kk, who.birth_date)
    monkeypatch.setattr(service, "_claim_nik", lambda *a: None)  # looked before the claim
    with pytest.raises(service.NikTaken):
        submit(db, second, who.nik, who.kk, who.birth_date)
    assert person_row(db, second.account_id) == {}
    assert person_row(db, first.account_id)["registry_status"] == "matched"


def test_a_double_tapped_first_submission_answers_a_conflict_not_an_error(db, people, monkeypatch):
    """Two first submissions of one account at once: the twin that looked before the first
    committed cannot insert a second person (unique account); it is told to wait for the first
    answer, and the first submission's row is untouched."""
    who, citizen = next(people), make_citizen(db)
    submit(db, citizen, who.nik, who.kk, who.birth_date)
    before = person_row(db, citizen.account_id)
    monkeypatch.setattr(service, "find_person", lambda *a: None)  # looked before the first
    monkeypatch.setattr(service, "_claim_nik", lambda *a: None)  # submission committed
    with pytest.raises(service.IdentitySubmittedTwice):
        submit(db, citizen, who.nik, who.kk, who.birth_date)
    assert person_row(db, citizen.account_id) == before


def test_a_registry_mismatch_keeps_the_step_open_and_releases_the_nik(db, people):
    who, other = next(people), next(p for p in people if p.kk != "")
    citizen = make_citizen(db)
    wrong_kk = other.kk if other.kk != who.kk else next(p.kk for p in people if p.kk != who.kk)
    submit(db, citizen, who.nik, wrong_kk, who.birth_date)
    row = person_row(db, citizen.account_id)
    assert row["registry_status"] == "mismatch"
    assert row["identity_done_at"] is None
    assert row["nik_bidx"] is None
    assert row["nik_enc"] is None
    with db.transaction() as s:
        person = s.scalar(select(Person).where(Person.account_id == citizen.account_id))
        assert ("kk", "mismatch") in service.mismatch_reasons(person)
    submit(db, citizen, who.nik, who.kk, who.birth_date)  # corrected: now it matches
    assert person_row(db, citizen.account_id)["registry_status"] == "matched"


def test_an_unavailable_registry_leaves_it_pending_and_a_job_settles_it(db, people, registry_sim):
    who, citizen = next(people), make_citizen(db)
    past = utc_now() - dt.timedelta(minutes=5)
    with pointed_at(registry_url=DEAD_URL):
        submit(db, citizen, who.nik, who.kk, who.birth_date, now=past)
        with db.transaction() as s:  # a retried caller does not double the job
            person = s.scalar(select(Person).where(Person.account_id == citizen.account_id))
            service.apply_registry_result(
                s, person, status="unavailable", fields={}, reference=None, now=past
            )
        row = person_row(db, citizen.account_id)
        assert row["registry_status"] == "pending"
        assert row["identity_done_at"] is None
        assert row["nik_bidx"] == vault.blind_index(who.nik)  # held while pending
        assert jobs.run_until_idle(db, max_batches=1) == 1  # still down: retried later
        with db.transaction() as s:
            assert jobs.counts(s) == {"queued": 1}
    with db.transaction() as s:  # make the retry due now
        s.execute(jobs.Job.__table__.update().values(run_after=past))
    assert jobs.run_until_idle(db) == 1
    row = person_row(db, citizen.account_id)
    assert row["registry_status"] == "matched"
    assert row["identity_done_at"] is not None
    with db.transaction() as s:
        assert jobs.counts(s) == {"done": 1}
        from prakerja.registration.jobs import recheck_registry

        recheck_registry(s, {"person_id": row["id"]}, utc_now())  # at least once: harmless
    assert person_row(db, citizen.account_id)["identity_done_at"] == row["identity_done_at"]


def test_identity_cannot_be_changed_once_verified(db, people):
    who, citizen = next(people), make_citizen(db)
    submit(db, citizen, who.nik, who.kk, who.birth_date)
    before = person_row(db, citizen.account_id)
    other = next(people)
    with pytest.raises(service.StepLocked):
        submit(db, citizen, other.nik, other.kk, other.birth_date)
    assert person_row(db, citizen.account_id) == before


def test_mark_step_is_idempotent_and_refuses_unknown_steps(db):
    citizen = make_citizen(db)
    t1, t2 = utc_now(), utc_now() + dt.timedelta(hours=1)
    with db.transaction() as s:
        person = service.person_for_account(s, citizen.account_id, now=t1)
        service.mark_step(s, person_id=person.id, step="statement", now=t1)
        service.mark_step(s, person_id=person.id, step="statement", now=t2)
        with pytest.raises(service.Invalid):
            service.mark_step(s, person_id=person.id, step="lottery", now=t1)
    assert person_row(db, citizen.account_id)["statement_done_at"] == t1


def wrong_kk_for(who, people):
    return next(p.kk for p in people if p.kk != who.kk)


# 23:30 in Jakarta (UTC+7) on 2 March: the Jakarta day ends before the UTC one.
LATE = dt.datetime(2026, 3, 2, 16, 30, tzinfo=dt.UTC)


def test_five_registry_checks_a_jakarta_day_then_refused_and_nothing_changes(db, people):
    who, citizen = next(people), make_citizen(db)
    wrong_kk = wrong_kk_for(who, people)
    for n in range(service.REGISTRY_ATTEMPTS_PER_DAY):
        submit(db, citizen, who.nik, wrong_kk, who.birth_date, now=LATE + dt.timedelta(minutes=n))
    before = person_row(db, citizen.account_id)
    assert (before["registry_status"], before["registry_attempts_today"]) == ("mismatch", 5)
    assert before["registry_attempts_day"] == dt.date(2026, 3, 2)
    for kk in (wrong_kk, who.kk):  # even the right answer is not checked any more today
        with pytest.raises(service.IdentityAttemptsExhausted) as exc:
            submit(db, citizen, who.nik, kk, who.birth_date, now=LATE + dt.timedelta(minutes=20))
        assert exc.value.kind == "rate"
        assert person_row(db, citizen.account_id) == before
    # 00:30 on 3 March in Jakarta (still 2 March in UTC): a new day, a fresh allowance
    submit(db, citizen, who.nik, who.kk, who.birth_date, now=LATE + dt.timedelta(hours=1))
    row = person_row(db, citizen.account_id)
    assert row["registry_status"] == "matched"
    assert (row["registry_attempts_today"], row["registry_attempts_day"]) == (
        1,
        dt.date(2026, 3, 3),
    )
    assert row["registry_attempts"] == 6


def test_a_malformed_identity_never_reaches_the_registry_and_costs_no_attempt(db, people):
    who, citizen = next(people), make_citizen(db)
    with db.transaction() as s:
        service.person_for_account(s, citizen.account_id, now=LATE)
    for _ in range(service.REGISTRY_ATTEMPTS_PER_DAY + 1):
        with pytest.raises(service.FormInvalid):
            submit(db, citizen, who.nik, "123", who.birth_date, now=LATE)
    assert person_row(db, citizen.account_id)["registry_attempts_today"] == 0
    with db.transaction() as s:
        person = s.scalar(select(Person).where(Person.account_id == citizen.account_id))
        assert service.registry_attempts_left(person, LATE) == 5


def test_the_daily_cap_holds_against_a_concurrent_submission(db, people):
    """A session that read the counter before another took the fifth check is still refused:
    the count is taken by one conditional UPDATE, not by the value read earlier."""
    who, citizen = next(people), make_citizen(db)
    wrong_kk = wrong_kk_for(who, people)
    for _ in range(service.REGISTRY_ATTEMPTS_PER_DAY - 1):
        submit(db, citizen, who.nik, wrong_kk, who.birth_date, now=LATE)
    stale = db.sessions()
    try:
        person = stale.scalar(select(Person).where(Person.account_id == citizen.account_id))
        assert service.registry_attempts_left(person, LATE) == 1
        stale.commit()  # end the read transaction; the object keeps what it read
        submit(db, citizen, who.nik, wrong_kk, who.birth_date, now=LATE)  # the fifth, elsewhere
        with pytest.raises(service.IdentityAttemptsExhausted):
            service._take_registry_attempt(stale, person, LATE.date())
        stale.rollback()
    finally:
        stale.close()
    assert person_row(db, citizen.account_id)["registry_attempts_today"] == 5
