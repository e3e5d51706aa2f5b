"""Pure card rules: card numbers (Luhn), deadlines as Jakarta dates, and what is due on a day.

No session, no clock: every function takes `now`/`today`. The scans in `jobs.py` select with
the same conditions in SQL; the per-card jobs re-check with these functions before acting.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import numpy as np

from prakerja.kit.clock import JAKARTA, jakarta_date
from prakerja.kit.errors import Conflict
from prakerja.registration.policy import PolicyRules

# Major industry identifier 9 ("national assignment"): programme cards, not bank cards.
NUMBER_PREFIX = "9"
NUMBER_LENGTH = 16
_RANDOM_DIGITS = NUMBER_LENGTH - len(NUMBER_PREFIX) - 1  # the last digit is the Luhn check


def luhn_check_digit(payload: str) -> int:
    """The digit that makes `payload + digit` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # doubled: the rightmost payload digit sits left of the check digit
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    """True for an all-digit string whose last digit is its Luhn check digit."""
    if len(number) < 2 or not number.isascii() or not number.isdigit():
        return False
    return luhn_check_digit(number[:-1]) == int(number[-1])


def valid_card_number(number: str) -> bool:
    """A programme card number: 16 digits, our prefix, Luhn-valid."""
    return len(number) == NUMBER_LENGTH and number.startswith(NUMBER_PREFIX) and luhn_valid(number)


def new_card_number() -> str:
    """A fresh random card number (CSPRNG; never derived from NIK or any personal data)."""
    body = NUMBER_PREFIX + f"{secrets.randbelow(10**_RANDOM_DIGITS):0{_RANDOM_DIGITS}d}"
    return body + str(luhn_check_digit(body))


def new_card_numbers(count: int) -> list[str]:
    """`count` distinct random card numbers, vectorised (the bulk issuance path)."""
    rng = np.random.default_rng(secrets.randbits(128))
    found: np.ndarray = np.empty(0, dtype=np.int64)
    while found.size < count:
        more = rng.integers(0, 10**_RANDOM_DIGITS, size=count - found.size + 16, dtype=np.int64)
        found = np.unique(np.concatenate([found, more]))
    rng.shuffle(found)
    body = found[:count]
    digits = (body[:, None] // 10 ** np.arange(_RANDOM_DIGITS, dtype=np.int64)) % 10
    # digits[:, 0] is the rightmost payload digit (doubled); the prefix digit is the leftmost.
    doubled = digits[:, 0::2] * 2
    total = (
        np.where(doubled > 9, doubled - 9, doubled).sum(axis=1)
        + digits[:, 1::2].sum(axis=1)
        + _prefix_weight()
    )
    check = (10 - total % 10) % 10
    return [
        f"{NUMBER_PREFIX}{b:0{_RANDOM_DIGITS}d}{c}"
        for b, c in zip(body.tolist(), check.tolist(), strict=True)
    ]


def _prefix_weight() -> int:
    """The prefix's contribution to the Luhn sum (its position depends on the payload length)."""
    total = 0
    for i, ch in enumerate(reversed(NUMBER_PREFIX), start=_RANDOM_DIGITS):
        d = int(ch)
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 == 0 else d
    return total


@dataclass(frozen=True)
class Deadlines:
    """The Jakarta dates a new card lives by."""

    first_purchase: dt.date
    reminder_on: dt.date


def deadlines_at_issue(rules: PolicyRules, issued_at: dt.datetime) -> Deadlines:
    """First purchase by the Jakarta date `issue day + first_purchase_days` (inclusive); the
    reminder is due `purchase_reminder_days_before` days earlier."""
    deadline = jakarta_date(issued_at) + dt.timedelta(days=rules.first_purchase_days)
    return Deadlines(deadline, deadline - dt.timedelta(days=rules.purchase_reminder_days_before))


def spend_rest_deadline(rules: PolicyRules, first_course_done_at: dt.datetime) -> dt.date | None:
    """From 2023 the rest must be spent by this Jakarta date; None when the policy has no limit."""
    if rules.spend_rest_days_after_first is None:
        return None
    return jakarta_date(first_course_done_at) + dt.timedelta(days=rules.spend_rest_days_after_first)


@dataclass(frozen=True)
class CardState:
    """What the due-rules read from a card."""

    status: str
    first_purchase_deadline: dt.date
    reminder_on: dt.date
    reminder_sent: bool
    purchased: bool
    spend_rest_deadline: dt.date | None
    issued_year: int


def reminder_due(card: CardState, today: dt.date) -> bool:
    """Remind once: active, nothing bought yet, reminder day reached, deadline not passed."""
    return (
        card.status == "active"
        and not card.purchased
        and not card.reminder_sent
        and card.reminder_on <= today <= card.first_purchase_deadline
    )


def first_purchase_missed(deadline: dt.date, purchased: bool, today: dt.date) -> bool:
    """Nothing bought and the deadline day has fully passed. "Bought" is a purchase placed (SMS
    code accepted, price held), whatever the platform does with it later."""
    return not purchased and today > deadline


def revocation_due(card: CardState, today: dt.date) -> bool:
    """Revoke an active card with no purchase once its deadline day has fully passed."""
    return card.status == "active" and first_purchase_missed(
        card.first_purchase_deadline, card.purchased, today
    )


def spend_rest_sweep_due(card: CardState, today: dt.date) -> bool:
    """Close and sweep an active card whose spend-rest deadline day has fully passed."""
    return (
        card.status == "active"
        and card.spend_rest_deadline is not None
        and today > card.spend_rest_deadline
    )


def year_end_due(card: CardState, year: int) -> bool:
    """The year-end cut-off of `year` closes every active card issued in that year or before."""
    return card.status == "active" and card.issued_year <= year


def valid_until(issued_at: dt.datetime) -> dt.date:
    """The last day a card's balance can be spent: the year-end cut-off of the Jakarta year it
    was issued in (`year_end_due`)."""
    return dt.date(jakarta_date(issued_at).year, 12, 31)


def year_end_instant(year: int) -> dt.datetime:
    """The first instant after the cut-off year (Jakarta new year), in UTC."""
    return dt.datetime(year + 1, 1, 1, tzinfo=JAKARTA).astimezone(dt.UTC)


class YearNotEnded(Conflict):
    code = "year_not_ended"
    title = "The year has not ended in Jakarta yet; its year-end cut-off cannot run"


def check_year_ended(year: int, now: dt.datetime) -> None:
    """Refuse the cut-off of a year still running in Jakarta: it closes every active card issued
    in that year or before, so run early it would close cards whose holders may still buy."""
    if now < year_end_instant(year):
        raise YearNotEnded(f"{year} ends at {year_end_instant(year).isoformat()}")


NEXT_STEPS = ("revoked", "closed", "buy_first_course", "spend_rest", "keep_learning")


def next_step(card: CardState, today: dt.date) -> str:
    """What the holder should do next, as a code the pages translate (one of NEXT_STEPS)."""
    if card.status in ("revoked", "closed"):
        return card.status
    if not card.purchased:
        return "buy_first_course"
    if card.spend_rest_deadline is not None and today <= card.spend_rest_deadline:
        return "spend_rest"
    return "keep_learning"
