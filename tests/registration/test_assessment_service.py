"""Statement and ability-test use-cases on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from prakerja.identity.model import Account
from prakerja.kit.db import is_postgres, new_id
from prakerja.kit.errors import Invalid
from prakerja.registration import assessment
from prakerja.registration import service as registration
from prakerja.registration import service_assessment as svc
from prakerja.registration.model import Person
from prakerja.registration.model_assessment import AbilityTestAttempt
from prakerja.registration.policy import PRESETS
from prakerja.registration.service_eligibility import current_policy

T0 = dt.datetime(2024, 3, 10, 2, 0, tzinfo=dt.UTC)
STATEMENT = {
    "work_status": "not_working",
    "laid_off_recently": True,
    "in_formal_education": False,
    "other_aid": [],
    "public_position": "none",
    "commit_to_finish": True,
}
KEY = assessment.bank_index(assessment.load_bank())


def make_person(session, email: str = "siti@example.id", *, statement: bool = True) -> Person:
    """A citizen whose steps up to the phone are complete (and the statement, if asked)."""
    account = Account(
        public_id=new_id(),
        email=email,
        password_hash="x",
        kind="citizen",
        status="active",
        email_verified_at=T0,
        created_at=T0,
    )
    session.add(account)
    session.flush()
    person = registration.person_for_account(session, account.id, now=T0)
    person.registry_status, person.face_status = "matched", "pass"
    for step in ("identity", "profile", "ktp", "face", "phone"):
        setattr(person, f"{step}_done_at", T0)
    session.flush()
    if statement:
        svc.save_statement(session, person_id=person.id, answers=STATEMENT, now=T0)
    return person


def right_answers(attempt, how_many: int) -> dict[str, int]:
    """Right answers to the first `how_many` questions, wrong ones to the rest."""
    return {
        qid: KEY[qid].answer if i < how_many else (KEY[qid].answer + 1) % 4
        for i, qid in enumerate(attempt.question_ids)
    }


@pytest.fixture
def rules():
    return PRESETS["2020-22"]  # 18 questions in 25 minutes


def test_the_policy_in_force_has_the_test_fields(db):
    with db.transaction() as s:
        _, rules = current_policy(s)
    assert assessment.AssessmentPolicy.from_rules(rules).minutes == rules.test_minutes


def test_statement_is_stored_and_marks_the_step(db):
    with db.transaction() as s:
        person = make_person(s)
        pid = person.id
    with db.transaction() as s:
        person = s.get(Person, pid)
        assert person.statement["laid_off_recently"] is True
        assert person.statement_done_at == T0
        assert person.test_done_at is None


def test_a_bad_statement_changes_nothing(db):
    with db.transaction() as s:
        pid = make_person(s, statement=False).id
    with db.transaction() as s, pytest.raises(Invalid) as caught:
        svc.save_statement(
            s, person_id=pid, answers=STATEMENT | {"commit_to_finish": False}, now=T0
        )
    assert caught.value.extra["field_errors"][0]["field"] == "commit_to_finish"
    with db.transaction() as s:
        person = s.get(Person, pid)
        assert person.statement == {}
        assert person.statement_done_at is None


def test_the_test_needs_the_statement_first(db, rules):
    with db.transaction() as s:
        pid = make_person(s, statement=False).id
        with pytest.raises(assessment.StatementMissing):
            svc.start_test(s, person_id=pid, now=T0, rules=rules)
        assert s.scalar(select(func.count()).select_from(AbilityTestAttempt)) == 0


def test_starting_twice_returns_the_open_attempt(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        first = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=42)
        again = svc.start_test(s, person_id=pid, now=T0 + dt.timedelta(minutes=3), rules=rules)
    assert again.id == first.id
    assert len(first.question_ids) == rules.test_questions
    assert first.deadline_at == T0 + dt.timedelta(minutes=rules.test_minutes)
    assert first.pass_mark_percent == rules.pass_mark_percent


def test_pass_path_marks_the_step_and_stores_the_percentage(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        attempt = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=1)
        done = svc.submit_test(
            s,
            person_id=pid,
            attempt_id=attempt.id,
            answers=right_answers(attempt, 15),
            now=T0 + dt.timedelta(minutes=20),
            rules=rules,
        )
        aid = done.id
    with db.transaction() as s:
        attempt, person = s.get(AbilityTestAttempt, aid), s.get(Person, pid)
        assert (attempt.score, attempt.passed, attempt.closed_reason) == (15, True, "submitted")
        assert person.test_done_at == T0 + dt.timedelta(minutes=20)
        assert person.test_score == 83  # 15/18 rounded down
        with pytest.raises(assessment.AlreadyPassed):
            svc.start_test(s, person_id=pid, now=T0 + dt.timedelta(days=400), rules=rules)


def test_fail_path_sets_the_retry_date_and_gives_fresh_questions(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        first = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=5)
        failed = svc.submit_test(
            s,
            person_id=pid,
            attempt_id=first.id,
            answers=right_answers(first, 5),
            now=T0 + dt.timedelta(minutes=10),
            rules=rules,
        )
        assert (failed.score, failed.passed) == (5, False)
        opens = svc.retry_opens_at(failed, rules)
        assert opens == assessment.retry_opens_at(failed.submitted_at, rules.retry_after_days)
        with pytest.raises(assessment.RetryNotYetAllowed) as caught:
            svc.start_test(s, person_id=pid, now=opens - dt.timedelta(seconds=1), rules=rules)
        assert caught.value.extra["retry_allowed_at"] == opens.isoformat()
        second = svc.start_test(s, person_id=pid, now=opens, rules=rules, seed=6)
        assert second.attempt_no == 2
        assert not set(first.question_ids) & set(second.question_ids)
        assert s.get(Person, pid).test_done_at is None


def test_late_submit_is_refused_and_nothing_else_changes(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        attempt = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=9)
        aid = attempt.id
    late = T0 + dt.timedelta(minutes=25, seconds=31)
    with db.transaction() as s:
        closed = svc.submit_test(
            s,
            person_id=pid,
            attempt_id=aid,
            answers=right_answers(attempt, 18),
            now=late,
            rules=rules,
        )
        assert (closed.closed_reason, closed.passed, closed.score) == ("time_up", False, 0)
    with db.transaction() as s:
        attempt, person = s.get(AbilityTestAttempt, aid), s.get(Person, pid)
        assert attempt.answers == {}
        assert attempt.submitted_at == attempt.deadline_at
        assert person.test_done_at is None
        assert person.test_score is None
        assert person.updated_at == T0
        assert s.scalar(select(func.count()).select_from(AbilityTestAttempt)) == 1


def test_answers_at_the_last_grace_second_still_count(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        attempt = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=10)
        done = svc.submit_test(
            s,
            person_id=pid,
            attempt_id=attempt.id,
            answers=right_answers(attempt, 18),
            now=T0 + dt.timedelta(minutes=25, seconds=30),
            rules=rules,
        )
        assert (done.closed_reason, done.score, done.passed) == ("submitted", 18, True)


def test_double_submit_is_idempotent(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        attempt = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=2)
        first = svc.submit_test(
            s,
            person_id=pid,
            attempt_id=attempt.id,
            answers=right_answers(attempt, 4),
            now=T0 + dt.timedelta(minutes=5),
            rules=rules,
        )
        snapshot = (first.score, first.passed, dict(first.answers), first.submitted_at)
    with db.transaction() as s:
        again = svc.submit_test(
            s,
            person_id=pid,
            attempt_id=attempt.id,
            answers=right_answers(attempt, 18),
            now=T0 + dt.timedelta(minutes=6),
            rules=rules,
        )
        assert (again.score, again.passed, dict(again.answers), again.submitted_at) == snapshot
        assert s.get(Person, pid).test_done_at is None


def test_bad_answers_are_refused_and_the_attempt_stays_open(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        attempt = svc.start_test(s, person_id=pid, now=T0, rules=rules, seed=3)
        aid, qid = attempt.id, attempt.question_ids[0]
    with db.transaction() as s, pytest.raises(Invalid):
        svc.submit_test(
            s,
            person_id=pid,
            attempt_id=aid,
            answers={qid: 7},
            now=T0 + dt.timedelta(minutes=1),
            rules=rules,
        )
    with db.transaction() as s:
        assert s.get(AbilityTestAttempt, aid).is_open


def test_another_citizens_attempt_is_not_found(db, rules):
    with db.transaction() as s:
        owner = make_person(s).id
        other = make_person(s, "budi@example.id").id
        aid = svc.start_test(s, person_id=owner, now=T0, rules=rules, seed=4).id
    with db.transaction() as s:
        with pytest.raises(svc.AttemptNotFound):
            svc.get_attempt(s, person_id=other, attempt_id=aid, now=T0)
        with pytest.raises(svc.AttemptNotFound):
            svc.submit_test(s, person_id=other, attempt_id=aid, answers={}, now=T0, rules=rules)
        assert s.get(AbilityTestAttempt, aid).is_open


def test_a_lapsed_attempt_is_closed_and_the_attempt_limit_holds(db, rules):
    with db.transaction() as s:
        pid = make_person(s).id
        now = T0
        for _ in range(3):
            attempt = svc.start_test(s, person_id=pid, now=now, rules=rules)
            now = assessment.retry_opens_at(attempt.deadline_at, rules.retry_after_days)
        view = svc.overview(s, person_id=pid, now=now, rules=rules)
        assert [a.closed_reason for a in view.attempts] == ["time_up"] * 3
        assert isinstance(view.refusal, assessment.NoAttemptsLeft)
        with pytest.raises(assessment.NoAttemptsLeft):
            svc.start_test(s, person_id=pid, now=now, rules=rules)


def test_the_overview_reads_without_locking_the_person_unless_an_attempt_lapsed(db, rules):
    """The dashboard shows the test step on every visit: it must not queue behind (or block)
    a write on the person, and still closes an attempt whose time is up."""
    if not is_postgres(db.engine):
        pytest.skip("row locks are PostgreSQL's")
    with db.transaction() as s:
        pid = make_person(s).id
        deadline = svc.start_test(s, person_id=pid, now=T0, rules=rules).deadline_at
    with db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM person WHERE id = :id FOR UPDATE"), {"id": pid})
        with db.transaction() as s:
            s.execute(text("SET LOCAL lock_timeout = '300ms'"))
            view = svc.overview(s, person_id=pid, now=T0, rules=rules)
            assert view.open_attempt is not None
            with pytest.raises(OperationalError, match="lock timeout"):
                svc.overview(s, person_id=pid, now=deadline + dt.timedelta(hours=1), rules=rules)
        holder.rollback()
    with db.transaction() as s:
        view = svc.overview(s, person_id=pid, now=deadline + dt.timedelta(hours=1), rules=rules)
        assert view.open_attempt is None
        assert [a.closed_reason for a in view.attempts] == ["time_up"]
