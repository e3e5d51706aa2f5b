"""The single next step once registration is done, across the whole programme (pure rules).

The dashboard must always say where a citizen stands and the one thing to do next. After
registration that depends on later contexts (the wave, the card, the course); the dashboard view
reads their facts through their public functions and this module decides, so the precedence is
written once and tested without a database. Texts are English msgids; the edge translates them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Facts:
    """What the later contexts say about one registered citizen."""

    eligible: bool
    open_wave: str | None = None  # code of a wave open for the citizen's region now
    application: str | None = None  # status of the latest application
    application_wave: str | None = None
    card_step: str | None = None  # wallet.cards.NEXT_STEPS
    card_deadline: dt.date | None = None  # the date the card step is bound by
    course_step: str | None = None  # "awaiting" | "attend" | "review": the course under way
    course_title: str | None = None


@dataclass(frozen=True)
class NextStep:
    """One sentence, and at most one place to go (None: nothing to do but wait)."""

    text: str
    params: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    label: str | None = None


DateText = Callable[[dt.date], str]  # how the reader's language writes a date


def _card(facts: Facts, day: DateText) -> NextStep | None:
    deadline = {"date": day(facts.card_deadline) if facts.card_deadline else ""}
    title = {"title": facts.course_title or ""}
    return {
        "revoked": NextStep(
            "Your Prakerja card was revoked because no course was bought by the deadline.",
            url="/card",
            label="See your card",
        ),
        "closed": NextStep(
            "Your Prakerja card is closed. Thank you for taking part.",
            url="/card",
            label="See your card",
        ),
        "buy_first_course": NextStep(
            "Buy your first course by %(date)s, or your card will be revoked.",
            deadline,
            "/courses",
            "Choose a course",
        ),
        "spend_rest": NextStep(
            "Spend the rest of your training balance by %(date)s.",
            deadline,
            "/courses",
            "Choose a course",
        ),
        "keep_learning": (
            NextStep(
                "Follow your course %(title)s and redeem the code of each session.",
                title,
                "/learning",
                "My courses",
            )
            if facts.course_step == "attend"
            else NextStep(
                "Your card is active: choose your next course.", {}, "/courses", "Choose a course"
            )
        ),
    }.get(facts.card_step or "")


def _application(facts: Facts) -> NextStep | None:
    wave = {"wave": facts.application_wave or ""}
    if facts.application in ("joined", "eligible"):
        return NextStep(
            "You joined wave %(wave)s. Wait for the draw: its result will appear here.",
            wave,
            "/waves",
            "Follow your application",
        )
    if facts.application == "selected":
        return NextStep(
            "You were selected in wave %(wave)s. Your Prakerja card is being issued.",
            wave,
            "/waves",
            "Follow your application",
        )
    return None


def after_registration(facts: Facts, day: DateText = dt.date.isoformat) -> NextStep:
    """The one next step of a registered citizen: a review owed first, then a purchase awaiting
    the platform, then the card, then the wave they joined, then a wave to join."""
    if facts.course_step == "review":
        return NextStep(
            "Your course %(title)s is complete. Rate and review it to unlock the next step.",
            {"title": facts.course_title or ""},
            "/learning",
            "Give your review",
        )
    if facts.course_step == "awaiting":
        return NextStep(
            "Your purchase of %(title)s is waiting for the training platform to confirm it.",
            {"title": facts.course_title or ""},
            "/orders",
            "My orders",
        )
    step = _card(facts, day) or _application(facts)
    if step is not None:
        return step
    if not facts.eligible:
        return NextStep("Under the current programme rules you cannot join a wave yet.")
    if facts.open_wave:
        return NextStep(
            "Wave %(wave)s is open for your region. Join it now.",
            {"wave": facts.open_wave},
            "/waves",
            "Join the wave",
        )
    if facts.application == "not_selected":
        return NextStep(
            "You were not selected in wave %(wave)s. You can join the next wave when it opens.",
            {"wave": facts.application_wave or ""},
        )
    return NextStep("No wave is open for your region now. Check this page again later.")


def when_test_refused(
    code: str, retry_on: dt.date | None, day: DateText = dt.date.isoformat
) -> NextStep | None:
    """What the dashboard says at the test step when a new attempt cannot start now."""
    if code == "test_retry_not_yet_allowed" and retry_on:
        return NextStep(
            "You did not pass the basic-ability test. You can take it again from %(date)s.",
            {"date": day(retry_on)},
        )
    if code == "test_no_attempts_left":
        return NextStep(
            "You have used every attempt at the basic-ability test, so registration cannot "
            "be completed."
        )
    return None
