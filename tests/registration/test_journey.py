"""The single next step after registration (pure rules), and that every text has Indonesian."""

from __future__ import annotations

import datetime as dt

import pytest

from prakerja.kit.i18n import gettext
from prakerja.registration import journey
from prakerja.registration.journey import Facts

DAY = dt.date(2026, 12, 15)
CASES = [
    (Facts(eligible=True), None, "No wave is open"),
    (Facts(eligible=True, open_wave="W7"), "/waves", "Wave %(wave)s is open"),
    (Facts(eligible=False, open_wave="W7"), None, "cannot join a wave yet"),
    (Facts(eligible=True, application="joined", application_wave="W7"), "/waves", "joined"),
    (Facts(eligible=True, application="selected", application_wave="W7"), "/waves", "selected"),
    (
        Facts(eligible=True, open_wave="W8", application="not_selected", application_wave="W7"),
        "/waves",
        "Wave %(wave)s is open",
    ),
    (Facts(eligible=True, application="not_selected", application_wave="W7"), None, "not selected"),
    (Facts(eligible=True, card_step="buy_first_course", card_deadline=DAY), "/courses", "Buy"),
    (Facts(eligible=True, card_step="spend_rest", card_deadline=DAY), "/courses", "Spend"),
    (
        Facts(eligible=True, card_step="keep_learning", course_step="attend", course_title="X"),
        "/learning",
        "Follow your course",
    ),
    (Facts(eligible=True, card_step="keep_learning"), "/courses", "choose your next course"),
    (Facts(eligible=True, card_step="revoked"), "/card", "revoked"),
    (Facts(eligible=True, card_step="closed"), "/card", "closed"),
    (
        Facts(eligible=True, card_step="keep_learning", course_step="awaiting", course_title="X"),
        "/orders",
        "waiting for the training platform",
    ),
    (
        Facts(eligible=True, card_step="spend_rest", course_step="review", course_title="X"),
        "/learning",
        "Rate and review",
    ),
]


@pytest.mark.parametrize(("facts", "url", "says"), CASES)
def test_one_next_step_for_each_situation(facts, url, says):
    step = journey.after_registration(facts)
    assert step.url == url
    assert says in step.text
    assert (step.label is None) == (url is None)


def test_a_card_outranks_the_application_that_led_to_it():
    facts = Facts(
        eligible=True, application="selected", card_step="buy_first_course", card_deadline=DAY
    )
    assert journey.after_registration(facts, lambda d: "15 Desember 2026").params == {
        "date": "15 Desember 2026"
    }


def test_the_test_step_says_when_a_retry_opens_or_that_none_is_left():
    retry = journey.when_test_refused("test_retry_not_yet_allowed", DAY)
    assert retry is not None
    assert retry.params == {"date": "2026-12-15"}
    assert retry.url is None
    assert journey.when_test_refused("test_no_attempts_left", None) is not None
    assert journey.when_test_refused("statement_missing", None) is None


def test_every_text_and_label_has_an_indonesian_translation():
    steps = [journey.after_registration(f) for f, _, _ in CASES]
    steps += [journey.when_test_refused("test_retry_not_yet_allowed", DAY)]
    steps += [journey.when_test_refused("test_no_attempts_left", None)]
    for step in steps:
        assert step is not None
        for text in filter(None, (step.text, step.label)):
            translated = gettext("id", text)
            assert translated != text, text
            assert translated.count("%(") == text.count("%("), text
