"""Urgency rules over normalised message text: money or deadline at risk, fraud, distress.

Pure functions. Each signal has a weight; the model's probability and the rule weights combine
as a noisy-OR, so a rule can raise urgency but never lower what the model saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MONEY = frozenset(
    {
        "insentif",
        "saldo",
        "dana",
        "uang",
        "transfer",
        "cair",
        "pencairan",
        "dicairkan",
        "rekening",
        "gopay",
        "ovo",
        "linkaja",
        "bni",
        "bca",
        "tertahan",
        "rupiah",
        "rp",
        "pembayaran",
    }
)
LOSS = frozenset(
    {
        "hilang",
        "hangus",
        "dicabut",
        "kepotong",
        "terpotong",
        "ditarik",
        "raib",
        "lenyap",
        "dibobol",
        "dikuras",
        "nyasar",
        "salah transfer",
        "salah kirim",
    }
)
DEADLINE = frozenset(
    {
        "batas",
        "deadline",
        "hangus",
        "dicabut",
        "pencabutan",
        "terakhir",
        "kedaluwarsa",
        "expired",
        "kadaluarsa",
        "kadaluwarsa",
        "tenggat",
        "batas waktu",
        "keburu",
    }
)
FRAUD = frozenset(
    {
        "penipuan",
        "penipu",
        "tertipu",
        "menipu",
        "tipu",
        "joki",
        "palsu",
        "calo",
        "phishing",
        "dibobol",
        "diretas",
        "hack",
        "hacked",
        "dihack",
        "pungli",
        "pungutan",
        "catut",
        "dicatut",
        "disalahgunakan",
        "bajak",
        "dibajak",
    }
)
DISTRESS = frozenset(
    {
        "stres",
        "depresi",
        "putus asa",
        "bunuh",
        "mati",
        "menangis",
        "nangis",
        "frustasi",
        "frustrasi",
        "darurat",
        "kelaparan",
        "utang",
        "hutang",
        "diusir",
        "rentenir",
        "pinjol",
        "tolong banget",
        "mohon banget",
        "sudah tidak kuat",
    }
)

WEIGHTS = {"fraud": 0.9, "distress": 0.8, "money_at_risk": 0.6, "deadline": 0.6}


@dataclass(frozen=True)
class UrgencySignals:
    """Which urgency rules fired for one message, and their combined weight in [0, 1)."""

    reasons: tuple[str, ...]
    weight: float


def _split(words: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    return frozenset(w for w in words if " " not in w), tuple(w for w in words if " " in w)


_SETS = {
    name: _split(words)
    for name, words in (
        ("fraud", FRAUD),
        ("distress", DISTRESS),
        ("loss", LOSS),
        ("deadline", DEADLINE),
    )
}


def _hits(tokens: set[str], text: str, name: str) -> bool:
    single, phrases = _SETS[name]
    return not single.isdisjoint(tokens) or any(p in text for p in phrases)


def _reasons(normalised: str) -> tuple[str, ...]:
    tokens = set(normalised.split())
    reasons: list[str] = []
    if _hits(tokens, normalised, "fraud"):
        reasons.append("fraud")
    if _hits(tokens, normalised, "distress"):
        reasons.append("distress")
    if not MONEY.isdisjoint(tokens) and _hits(tokens, normalised, "loss"):
        reasons.append("money_at_risk")
    if _hits(tokens, normalised, "deadline"):
        reasons.append("deadline")
    return tuple(reasons)


def urgency_signals(normalised: str) -> UrgencySignals:
    """The urgency rules that fire on one normalised message (see textnorm.normalize)."""
    reasons = _reasons(normalised)
    return UrgencySignals(reasons, combine(0.0, [WEIGHTS[r] for r in reasons]))


def urgency_batch(normalised: list[str]) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Reasons and combined rule weight for each message of a batch, in order."""
    reasons: list[tuple[str, ...]] = []
    weights = np.empty(len(normalised))
    for i, text in enumerate(normalised):
        found = _reasons(text)
        reasons.append(found)
        weights[i] = _WEIGHT_OF[found] if found in _WEIGHT_OF else _weight(found)
    return reasons, weights


def _weight(reasons: tuple[str, ...]) -> float:
    value = combine(0.0, [WEIGHTS[r] for r in reasons])
    _WEIGHT_OF[reasons] = value
    return value


_WEIGHT_OF: dict[tuple[str, ...], float] = {}


def combine(model_probability: float, weights: list[float]) -> float:
    """Noisy-OR of the model's probability and rule weights; never below the model's value."""
    keep = 1.0 - model_probability
    for w in weights:
        keep *= 1.0 - w
    return 1.0 - keep
