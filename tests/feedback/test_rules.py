"""Urgency rules: money or deadline at risk, fraud, distress."""

import pytest

from prakerja.feedback.rules import combine, urgency_signals
from prakerja.feedback.textnorm import normalize


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ada joki minta 200rb katanya dijamin lolos", "fraud"),
        ("saya tertipu situs palsu", "fraud"),
        ("saya stres banget, terlilit utang", "distress"),
        ("saldo pelatihan saya hilang", "money_at_risk"),
        ("kartu bisa dicabut kalau lewat batas waktu", "deadline"),
    ],
)
def test_each_rule_fires_on_its_words(text, reason):
    assert reason in urgency_signals(normalize(text)).reasons


def test_an_ordinary_question_fires_no_rule():
    signals = urgency_signals(normalize("kapan gelombang berikutnya dibuka min?"))
    assert signals.reasons == ()
    assert signals.weight == 0.0


def test_rules_combine_as_noisy_or_and_never_lower_the_model():
    assert combine(0.3, []) == pytest.approx(0.3)
    assert combine(0.3, [0.5]) == pytest.approx(0.65)
    assert combine(0.0, [0.9, 0.6]) == pytest.approx(0.96)
    assert combine(0.7, [0.0]) >= 0.7
