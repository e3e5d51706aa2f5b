"""Basic-ability test rules: the question bank, selection, scoring, the deadline and retries.

Pure: no session, no clock. Times are UTC-aware datetimes handed in by the caller.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

from prakerja.kit.clock import JAKARTA
from prakerja.kit.errors import Conflict, Invalid

KINDS = ("verbal", "numerical", "logical")
OPTIONS_PER_QUESTION = 4
# Answers may arrive this long after the deadline (a slow phone network), never later.
GRACE = dt.timedelta(seconds=30)
DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; `answer` is the 0-based index of the right option."""

    id: str
    kind: str
    prompt_id: str
    prompt_en: str
    options_id: tuple[str, ...]
    options_en: tuple[str, ...]
    answer: int

    def prompt(self, lang: str) -> str:
        return self.prompt_en if lang == "en" else self.prompt_id

    def options(self, lang: str) -> tuple[str, ...]:
        return self.options_en if lang == "en" else self.options_id


class AssessmentRules(Protocol):
    """The policy fields the test reads (registration's PolicyRules has them)."""

    @property
    def test_minutes(self) -> int: ...
    @property
    def test_questions(self) -> int: ...
    @property
    def pass_mark_percent(self) -> int: ...
    @property
    def retry_after_days(self) -> int: ...
    @property
    def test_max_attempts(self) -> int: ...


@dataclass(frozen=True)
class AssessmentPolicy:
    """The test rules in force for one attempt."""

    minutes: int
    questions: int
    pass_mark_percent: int
    retry_after_days: int
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    @classmethod
    def from_rules(cls, rules: AssessmentRules) -> AssessmentPolicy:
        """Read the test's rules from the policy version in force."""
        policy = cls(
            minutes=int(rules.test_minutes),
            questions=int(rules.test_questions),
            pass_mark_percent=int(rules.pass_mark_percent),
            retry_after_days=int(rules.retry_after_days),
            max_attempts=int(rules.test_max_attempts),
        )
        if policy.minutes < 1 or policy.questions < 1 or policy.max_attempts < 1:
            raise ValueError("test policy needs positive minutes, questions and attempts")
        if not 0 <= policy.pass_mark_percent <= 100 or policy.retry_after_days < 0:
            raise ValueError("pass mark must be 0..100 and retry days >= 0")
        return policy


def parse_bank(raw: Mapping[str, Any]) -> tuple[Question, ...]:
    """Questions from the bank's JSON; refuses duplicates, wrong option counts, bad answers."""
    questions = []
    for item in raw["questions"]:
        options = item["options"]
        question = Question(
            id=str(item["id"]),
            kind=str(item["kind"]),
            prompt_id=str(item["prompt_id"]),
            prompt_en=str(item["prompt_en"]),
            options_id=tuple(str(o["id"]) for o in options),
            options_en=tuple(str(o["en"]) for o in options),
            answer=int(item["answer"]),
        )
        if question.kind not in KINDS or len(options) != OPTIONS_PER_QUESTION:
            raise ValueError(f"question {question.id}: unknown kind or not 4 options")
        if not 0 <= question.answer < OPTIONS_PER_QUESTION:
            raise ValueError(f"question {question.id}: answer index out of range")
        if len(set(question.options_id)) != OPTIONS_PER_QUESTION:
            raise ValueError(f"question {question.id}: repeated option")
        questions.append(question)
    if len({q.id for q in questions}) != len(questions):
        raise ValueError("question ids are not unique")
    return tuple(questions)


@lru_cache(maxsize=1)
def load_bank() -> tuple[Question, ...]:
    """The packaged bank (registration/data/questions.json), parsed once per process."""
    path = resources.files("prakerja.registration").joinpath("data", "questions.json")
    return parse_bank(json.loads(path.read_text(encoding="utf-8")))


def bank_index(bank: Sequence[Question]) -> dict[str, Question]:
    return {q.id: q for q in bank}


def kind_quotas(count: int, seed: int) -> dict[str, int]:
    """An even split of `count` over the kinds; the seed picks which kinds get the remainder."""
    base, extra = divmod(count, len(KINDS))
    start = seed % len(KINDS)
    lucky = {KINDS[(start + i) % len(KINDS)] for i in range(extra)}
    return {kind: base + (kind in lucky) for kind in KINDS}


def select_questions(
    bank: Sequence[Question], *, seed: int, count: int, seen: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """`count` distinct question ids, balanced over the kinds, fixed by `seed`.

    Questions in `seen` (earlier attempts) are used only when a kind has too few fresh ones.
    The result is grouped by kind (verbal, numerical, logical), shuffled within each group.
    """
    if count > len(bank):
        raise ValueError(f"the bank holds {len(bank)} questions, {count} were asked for")
    rng = random.Random(seed)  # noqa: S311 (a reproducible order, not a secret)
    quotas = kind_quotas(count, seed)
    picked: dict[str, list[str]] = {}
    for kind in KINDS:
        pool = sorted(q.id for q in bank if q.kind == kind)
        fresh = [i for i in pool if i not in seen]
        stale = [i for i in pool if i in seen]
        rng.shuffle(fresh)
        rng.shuffle(stale)
        picked[kind] = (fresh + stale)[: quotas[kind]]
    _top_up(bank, picked, count, rng, seen)
    return tuple(i for kind in KINDS for i in picked[kind])


def _top_up(
    bank: Sequence[Question],
    picked: dict[str, list[str]],
    count: int,
    rng: random.Random,
    seen: frozenset[str],
) -> None:
    """When a kind ran short, fill from the other kinds (fresh questions first)."""
    chosen = {i for ids in picked.values() for i in ids}
    missing = count - len(chosen)
    if missing <= 0:
        return
    rest = sorted(q.id for q in bank if q.id not in chosen)
    rng.shuffle(rest)
    rest.sort(key=lambda i: i in seen)  # stable: fresh ones first, shuffled order kept
    kinds = bank_index(bank)
    for qid in rest[:missing]:
        picked[kinds[qid].kind].append(qid)


def check_answers(question_ids: Sequence[str], answers: Mapping[str, int]) -> dict[str, int]:
    """The answers as {question id: option index}; refuses unknown ids and bad indexes.

    Unanswered questions are allowed (they score nothing).
    """
    allowed = set(question_ids)
    unknown = sorted(set(answers) - allowed)
    if unknown:
        raise Invalid("Answers name questions that are not in this test.", questions=unknown)
    clean: dict[str, int] = {}
    for qid, choice in answers.items():
        if (
            isinstance(choice, bool)
            or not isinstance(choice, int)
            or not (0 <= choice < OPTIONS_PER_QUESTION)
        ):
            raise Invalid("Each answer must be one of the four options.", question=qid)
        clean[qid] = choice
    return clean


def score(
    question_ids: Sequence[str], answers: Mapping[str, int], key: Mapping[str, Question]
) -> int:
    """How many of the attempt's questions were answered right (0..len(question_ids))."""
    return sum(1 for qid in set(question_ids) if answers.get(qid) == key[qid].answer)


def percent(points: int, total: int) -> int:
    """The score as a whole percentage, rounded down (never above 100)."""
    return 0 if total <= 0 else min(100, points * 100 // total)


def has_passed(points: int, total: int, pass_mark_percent: int) -> bool:
    """Pass when points/total reaches the pass mark, compared exactly in integers."""
    return total > 0 and points * 100 >= pass_mark_percent * total


def deadline(started_at: dt.datetime, minutes: int) -> dt.datetime:
    """The server-side deadline shown to the registrant."""
    return started_at + dt.timedelta(minutes=minutes)


def is_late(deadline_at: dt.datetime, received_at: dt.datetime) -> bool:
    """True when answers arrive after the deadline plus the network grace."""
    return received_at > deadline_at + GRACE


def retry_opens_at(failed_at: dt.datetime, retry_after_days: int) -> dt.datetime:
    """A failed test may be retried from 00:00 Jakarta time, `retry_after_days` days later."""
    day = failed_at.astimezone(JAKARTA).date() + dt.timedelta(days=retry_after_days)
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=JAKARTA).astimezone(dt.UTC)


class StatementMissing(Conflict):
    code = "statement_missing"
    title = "Fill in the registrant statement before the test."


class AlreadyPassed(Conflict):
    code = "test_already_passed"
    title = "You have already passed the basic-ability test."


class NoAttemptsLeft(Conflict):
    code = "test_no_attempts_left"
    title = "You have used every attempt at the basic-ability test."


class RetryNotYetAllowed(Conflict):
    code = "test_retry_not_yet_allowed"
    title = "You can retake the test later."


@dataclass(frozen=True)
class PastAttempt:
    """A closed attempt, as the retry rule sees it."""

    passed: bool
    closed_at: dt.datetime


def check_can_start(
    past: Sequence[PastAttempt], policy: AssessmentPolicy, now: dt.datetime
) -> None:
    """Refuse a new attempt after a pass, past the attempt limit, or before the retry date."""
    if any(p.passed for p in past):
        raise AlreadyPassed()
    if len(past) >= policy.max_attempts:
        raise NoAttemptsLeft(max_attempts=policy.max_attempts)
    if past:
        opens = retry_opens_at(max(p.closed_at for p in past), policy.retry_after_days)
        if now < opens:
            raise RetryNotYetAllowed(
                f"A new attempt is allowed from {opens.astimezone(JAKARTA):%Y-%m-%d} "
                f"(Asia/Jakarta).",
                retry_allowed_at=opens.isoformat(),
                retry_allowed_on=opens.astimezone(JAKARTA).date().isoformat(),
            )


# --- registrant statement -----------------------------------------------------------------------

WORK_STATUSES = ("not_working", "employed", "self_employed")
AID_CHOICES = ("dtks", "bsu", "bpum")  # registration.policy.AID_PROGRAMMES
POSITION_CHOICES = (
    "none",
    "civil_servant",
    "military",
    "police",
    "state_official",
    "regional_parliament",
    "village_official",
    "soe_board",
)
STATEMENT_VERSION = 1
_YES, _NO = ("yes", "true", "1", "on"), ("no", "false", "0")


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    return True if text in _YES else False if text in _NO else None


def _aid_list(value: Any) -> list[str] | None:
    items = [value] if isinstance(value, str) else list(value or [])
    chosen = sorted({str(i).strip() for i in items if str(i).strip()} - {"none"})
    return chosen if set(chosen) <= set(AID_CHOICES) else None


def parse_statement(answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The statement as stored on Person.statement, and {field: English msgid} problems.

    Every question must be answered; the commitment to finish training must be a yes.
    """
    problems: dict[str, str] = {}
    work = str(answers.get("work_status") or "")
    if work not in WORK_STATUSES:
        problems["work_status"] = "Choose whether you are working now."
    flags = {}
    for name in ("laid_off_recently", "in_formal_education", "commit_to_finish"):
        flags[name] = _yes_no(answers.get(name))
        if flags[name] is None:
            problems[name] = "Answer yes or no."
    aid = _aid_list(answers.get("other_aid"))
    if aid is None:
        problems["other_aid"] = "Choose only aid programmes from the list."
    position = str(answers.get("public_position") or "")
    if position not in POSITION_CHOICES:
        problems["public_position"] = "Choose a position from the list, or none."
    if flags["commit_to_finish"] is False:
        problems["commit_to_finish"] = (
            "The programme is for people who commit to finishing their training."
        )
    clean = {
        "version": STATEMENT_VERSION,
        "work_status": work,
        **flags,
        "other_aid": aid or [],
        "public_position": position,
    }
    return clean, problems
