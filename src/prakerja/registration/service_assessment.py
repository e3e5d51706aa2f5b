"""Registration step 5: the registrant statement and the basic-ability test.

The deadline is the server's: answers arriving after deadline_at + 30 s are ignored and the
attempt closes as failed ('time_up'). Every refusal raises before anything is written. Calls for
one person are serialised by a row lock on the person.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.kit.db import lock_for_update
from prakerja.kit.errors import Conflict, DomainError, NotFound
from prakerja.registration import assessment as rules_
from prakerja.registration import service
from prakerja.registration.assessment import AssessmentPolicy, AssessmentRules, PastAttempt
from prakerja.registration.model import Person
from prakerja.registration.model_assessment import AbilityTestAttempt

Attempt = AbilityTestAttempt


class AttemptNotFound(NotFound):
    code = "test_attempt_not_found"
    title = "No such test attempt"


class BankTooSmall(Conflict):
    code = "test_bank_too_small"
    title = "The question bank is smaller than the policy's number of questions."


@dataclass(frozen=True)
class TestOverview:
    """Where a person stands with the test: for the intro page and the API."""

    __test__ = False  # not a pytest test class

    policy: AssessmentPolicy
    attempts: tuple[Attempt, ...]
    open_attempt: Attempt | None
    passed: bool
    refusal: DomainError | None  # why a new attempt cannot start now (None: it can)
    statement_done: bool


def _locked_person(session: Session, person_id: int) -> Person:
    stmt = lock_for_update(session, select(Person).where(Person.id == person_id))
    stmt = stmt.execution_options(populate_existing=True)  # the locked row, not a stale copy
    person: Person | None = session.scalar(stmt)
    if person is None:
        raise NotFound("No such person")
    return person


def _attempts(session: Session, person_id: int, *, fresh: bool = False) -> list[Attempt]:
    """The person's attempts in order; `fresh` overwrites rows already loaded (after a lock)."""
    stmt = select(Attempt).where(Attempt.person_id == person_id).order_by(Attempt.attempt_no)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return list(session.scalars(stmt))


def _close_if_lapsed(attempt: Attempt, now: dt.datetime) -> bool:
    """Close an open attempt whose time is up: failed, answers ignored, closed at the deadline."""
    if not attempt.is_open or not rules_.is_late(attempt.deadline_at, now):
        return False
    attempt.submitted_at = attempt.deadline_at
    attempt.closed_reason = "time_up"
    attempt.answers = {}
    attempt.score = 0
    attempt.passed = False
    return True


def _past(attempts: list[Attempt]) -> list[PastAttempt]:
    return [
        PastAttempt(passed=bool(a.passed), closed_at=a.submitted_at)
        for a in attempts
        if a.submitted_at is not None
    ]


def save_statement(
    session: Session, *, person_id: int, answers: Mapping[str, Any], now: dt.datetime
) -> Person:
    """Store the validated statement on the person and complete the 'statement' step."""
    person = _locked_person(session, person_id)
    clean, problems = rules_.parse_statement(answers)
    if problems:
        raise service.FormInvalid(
            service.FieldError(field, "invalid", message) for field, message in problems.items()
        )
    service.require_step(session, person, "statement")
    person.statement = clean
    person.updated_at = now
    session.flush()
    service.mark_step(session, person_id=person.id, step="statement", now=now)
    return person


def overview(
    session: Session, *, person_id: int, now: dt.datetime, rules: AssessmentRules
) -> TestOverview:
    """The person's attempts (lapsed ones closed) and whether a new one may start now. Read
    without a lock (the dashboard calls this on every visit); only when an open attempt has
    run out of time is the person locked and the attempts read again to close it."""
    person = session.scalar(select(Person).where(Person.id == person_id))
    if person is None:
        raise NotFound("No such person")
    attempts = _attempts(session, person_id)
    if any(a.is_open and rules_.is_late(a.deadline_at, now) for a in attempts):
        person = _locked_person(session, person_id)
        attempts = _attempts(session, person_id, fresh=True)
        if [a for a in attempts if _close_if_lapsed(a, now)]:
            session.flush()
    policy = AssessmentPolicy.from_rules(rules)
    open_attempt = next((a for a in attempts if a.is_open), None)
    refusal: DomainError | None = None
    if person.statement_done_at is None:
        refusal = rules_.StatementMissing()
    elif open_attempt is None:
        try:
            rules_.check_can_start(_past(attempts), policy, now)
        except DomainError as exc:
            refusal = exc
    return TestOverview(
        policy=policy,
        attempts=tuple(attempts),
        open_attempt=open_attempt,
        passed=any(a.passed for a in attempts),
        refusal=refusal,
        statement_done=person.statement_done_at is not None,
    )


def start_test(
    session: Session,
    *,
    person_id: int,
    now: dt.datetime,
    rules: AssessmentRules,
    seed: int | None = None,
) -> Attempt:
    """A new attempt with a fixed question set and deadline; the open one if there is one.

    Refuses without a statement, after a pass, past the attempt limit and before the retry date.
    """
    view = overview(session, person_id=person_id, now=now, rules=rules)
    if view.open_attempt is not None:
        return view.open_attempt
    if view.refusal is not None:
        raise view.refusal
    bank = rules_.load_bank()
    if view.policy.questions > len(bank):
        raise BankTooSmall(bank_size=len(bank), asked=view.policy.questions)
    seed = secrets.randbits(62) if seed is None else seed
    seen = frozenset(q for a in view.attempts for q in a.question_ids)
    attempt = Attempt(
        person_id=person_id,
        attempt_no=len(view.attempts) + 1,
        seed=seed,
        question_ids=list(
            rules_.select_questions(bank, seed=seed, count=view.policy.questions, seen=seen)
        ),
        pass_mark_percent=view.policy.pass_mark_percent,
        started_at=now,
        deadline_at=rules_.deadline(now, view.policy.minutes),
        answers={},
    )
    session.add(attempt)
    session.flush()
    return attempt


def get_attempt(session: Session, *, person_id: int, attempt_id: int, now: dt.datetime) -> Attempt:
    """The person's own attempt (closed if its time is up); AttemptNotFound for anyone else's."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.person_id != person_id:
        raise AttemptNotFound()
    if _close_if_lapsed(attempt, now):
        session.flush()
    return attempt


def submit_test(
    session: Session,
    *,
    person_id: int,
    attempt_id: int,
    answers: Mapping[str, int],
    now: dt.datetime,
    rules: AssessmentRules,
) -> Attempt:
    """Score an open attempt once; a repeat returns the stored result unchanged.

    Late answers are ignored and the attempt fails with 'time_up'. A pass completes the 'test'
    step and stores the percentage on Person.test_score.
    """
    person = _locked_person(session, person_id)
    attempt = get_attempt(session, person_id=person_id, attempt_id=attempt_id, now=now)
    if not attempt.is_open:
        return attempt
    clean = rules_.check_answers(attempt.question_ids, answers)
    key = rules_.bank_index(rules_.load_bank())
    points = rules_.score(attempt.question_ids, clean, key)
    total = len(attempt.question_ids)
    attempt.answers = clean
    attempt.score = points
    attempt.passed = rules_.has_passed(points, total, attempt.pass_mark_percent)
    attempt.submitted_at = now
    attempt.closed_reason = "submitted"
    if attempt.passed:
        person.test_score = rules_.percent(points, total)
        person.updated_at = now
    session.flush()
    if attempt.passed:
        service.mark_step(session, person_id=person_id, step="test", now=now)
    return attempt


def retry_opens_at(attempt: Attempt, rules: AssessmentRules) -> dt.datetime | None:
    """When a new attempt may follow this failed one; None if it passed, is open or was the
    last attempt the policy allows."""
    policy = AssessmentPolicy.from_rules(rules)
    if attempt.is_open or attempt.passed or attempt.submitted_at is None:
        return None
    if attempt.attempt_no >= policy.max_attempts:
        return None
    return rules_.retry_opens_at(attempt.submitted_at, policy.retry_after_days)


def questions_of(attempt: Attempt) -> list[rules_.Question]:
    """The attempt's questions in their fixed order."""
    key = rules_.bank_index(rules_.load_bank())
    return [key[qid] for qid in attempt.question_ids]
