"""Basic-ability test API for the logged-in citizen: start, read (no answer key), submit.

A citizen only ever sees their own attempts; any other id is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from prakerja.identity.deps import CurrentCitizen
from prakerja.kit.clock import utc_now
from prakerja.kit.routing import DbSession, new_router
from prakerja.kit.web import current_language
from prakerja.registration import assessment
from prakerja.registration import service as registration
from prakerja.registration import service_assessment as svc
from prakerja.registration.schemas import problems
from prakerja.registration.service_eligibility import current_policy

router = new_router(prefix="/api/v1/registration/test", tags=["registration"])

AttemptId = Annotated[int, Path(ge=1, le=2**62, description="The attempt's id")]
QuestionId = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}[0-9]{1,4}$", max_length=8)]
Choice = Annotated[int, Field(ge=0, le=assessment.OPTIONS_PER_QUESTION - 1)]


class QuestionRead(BaseModel):
    """One question in the request's language; the right option is never sent."""

    id: str
    kind: Literal["verbal", "numerical", "logical"]
    prompt: str
    options: list[str] = Field(min_length=4, max_length=4)


class AttemptRead(BaseModel):
    """An attempt; score and result appear once it is closed."""

    id: int
    attempt_no: int
    status: Literal["open", "passed", "failed"]
    closed_reason: Literal["submitted", "time_up"] | None
    started_at: dt.datetime
    deadline_at: dt.datetime = Field(
        description="Server deadline (UTC); answers are accepted up to 30 seconds after it"
    )
    submitted_at: dt.datetime | None
    pass_mark_percent: int
    question_count: int
    score: int | None = Field(description="Right answers, 0..question_count")
    score_percent: int | None
    retry_allowed_at: dt.datetime | None = Field(
        description="After a fail with attempts left: when a new attempt may start"
    )
    questions: list[QuestionRead]


class SubmitIn(BaseModel):
    """Chosen option (0-3) per question id; unanswered questions may be left out."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[QuestionId, Choice] = Field(max_length=200, examples=[{"V01": 1, "N07": 0}])


def attempt_read(attempt: svc.Attempt, rules: assessment.AssessmentRules) -> AttemptRead:
    """The API view of an attempt, questions in the request's language."""
    lang = current_language()
    status = "open" if attempt.is_open else "passed" if attempt.passed else "failed"
    total = len(attempt.question_ids)
    return AttemptRead(
        id=attempt.id,
        attempt_no=attempt.attempt_no,
        status=status,
        closed_reason=attempt.closed_reason,
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        submitted_at=attempt.submitted_at,
        pass_mark_percent=attempt.pass_mark_percent,
        question_count=total,
        score=attempt.score,
        score_percent=None if attempt.score is None else assessment.percent(attempt.score, total),
        retry_allowed_at=svc.retry_opens_at(attempt, rules),
        questions=[
            QuestionRead(id=q.id, kind=q.kind, prompt=q.prompt(lang), options=list(q.options(lang)))
            for q in svc.questions_of(attempt)
        ],
    )


def _person_id(session: DbSession, account_id: int) -> int:
    person = registration.find_person(session, account_id)
    if person is None:
        raise svc.AttemptNotFound()
    return person.id


_START_RESPONSES = {
    200: {"description": "An attempt was already open; it is returned", "model": AttemptRead},
    **problems(401, 403, 409),
}


@router.post("/start", status_code=201, responses=_START_RESPONSES)
def start(session: DbSession, account: CurrentCitizen, response: Response) -> AttemptRead:
    """Start an attempt (201), or return the open one (200). 409 with `retry_allowed_at`
    when a retry is not allowed yet."""
    now = utc_now()
    person = registration.person_for_account(session, account.id, now=now)
    _, rules = current_policy(session)
    attempt = svc.start_test(session, person_id=person.id, now=now, rules=rules)
    if attempt.started_at != now:
        response.status_code = 200
    return attempt_read(attempt, rules)


@router.get("/{attempt_id}", responses=problems(401, 403, 404, 422))
def read(attempt_id: AttemptId, session: DbSession, account: CurrentCitizen) -> AttemptRead:
    """One of the citizen's attempts with its questions (never the answer key)."""
    attempt = svc.get_attempt(
        session, person_id=_person_id(session, account.id), attempt_id=attempt_id, now=utc_now()
    )
    return attempt_read(attempt, current_policy(session)[1])


@router.post("/{attempt_id}", responses=problems(401, 403, 404, 422))
def submit(
    attempt_id: AttemptId, body: SubmitIn, session: DbSession, account: CurrentCitizen
) -> AttemptRead:
    """Submit answers once; a repeat returns the first result. Late answers are ignored and
    the attempt fails with `closed_reason` 'time_up'."""
    _, rules = current_policy(session)
    attempt = svc.submit_test(
        session,
        person_id=_person_id(session, account.id),
        attempt_id=attempt_id,
        answers=body.answers,
        now=utc_now(),
        rules=rules,
    )
    return attempt_read(attempt, rules)
