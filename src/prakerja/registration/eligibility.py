"""Who may join, as pure rules that explain themselves.

`evaluate` returns every rule an applicant fails, never just the first, each with a stable
reason code (for selection, statistics and the API) and an English msgid whose Indonesian
translation (eligibility.po) tells the citizen, kindly and plainly, what it means and what to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from prakerja.kit import i18n
from prakerja.registration.policy import PolicyRules

LIST_KINDS = ("exclusion", "priority", "student", "blacklist", "prior_recipient", "other_aid")


@dataclass(frozen=True, slots=True)
class ApplicantFacts:
    """What the rules need to know about one applicant; gathered by service_eligibility."""

    birth_date: dt.date | None
    occupation: str | None = None
    other_aid: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()  # list kinds the applicant's NIK is on
    registry_status: str = "none"  # none | matched | mismatch | unavailable
    prior_benefit: bool = False
    kk_recipients: int = 0  # other recipients already on the same family card (KK)
    is_student: bool = False
    registration_complete: bool = True


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed rule: a stable code and an English msgid with %(name)s params."""

    code: str
    message_en: str
    params: tuple[tuple[str, int | str], ...] = ()

    def explain(self, language: str = i18n.DEFAULT_LANGUAGE) -> str:
        """The message in `language`, params filled in (Indonesian by default)."""
        return i18n.gettext(language, self.message_en, **dict(self.params))


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """`eligible` is True exactly when `failures` is empty."""

    eligible: bool
    failures: tuple[Failure, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.failures)


MESSAGES: dict[str, str] = {
    "registration_incomplete": "Your registration is not complete yet. Please finish every step "
    "on your dashboard; then we can check whether you can join.",
    "registry_not_matched": "Your NIK, KK number or date of birth does not match the civil "
    "registry (Dukcapil) yet. Please check them against your KTP and KK, "
    "or contact your local Dukcapil office to update your data.",
    "age_below_min": "You must be at least %(age_min)s years old to join. You are welcome to "
    "register again once you have turned %(age_min)s.",
    "age_above_max": "This programme is for people aged %(age_min)s to %(age_max)s, so we "
    "cannot accept your registration for now.",
    "excluded_occupation": "Your occupation is on the list of jobs that cannot join (such as "
    "civil servants, TNI, Polri, village officials or state-owned company "
    "boards). If your occupation has changed, please update your profile.",
    "other_aid_recipient": "Under the current rules, people who receive other social aid (DTKS, "
    "BSU or BPUM) cannot join. If you no longer receive it, please contact "
    "the agency that runs that aid so its list can be corrected.",
    "on_exclusion_list": "Your NIK is on a list of people who cannot join, sent to us by a "
    "government agency. If you think this is a mistake, please contact us "
    "and we will check it with that agency.",
    "student": "The student database says you are still in formal education, and the programme "
    "is for people who are not. If you have finished or left school or university, "
    "please ask your institution to update the database.",
    "blacklisted": "Your NIK can no longer join because an earlier card was revoked or misused. "
    "If you think this is a mistake, please contact us.",
    "prior_recipient": "You have already received Kartu Prakerja before. Each person can "
    "receive the benefit only once in their life.",
    "kk_cap_reached": "%(kk_cap)s people on your family card (KK) have already received Kartu "
    "Prakerja, which is the most allowed for one family card.",
}
REASON_CODES: tuple[str, ...] = tuple(MESSAGES)
_ELIGIBLE = EligibilityResult(True, ())


def age_on(birth_date: dt.date, today: dt.date) -> int:
    """Completed years on `today` (a 29 February birthday counts from 1 March in other years)."""
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


@lru_cache(maxsize=256)
def _failure(code: str, params: tuple[tuple[str, int | str], ...]) -> Failure:
    return Failure(code, MESSAGES[code], params)


def _fail(code: str, **params: int | str) -> Failure:
    # Failures are immutable values; caching them keeps a million evaluations allocation-light.
    return _failure(code, tuple(sorted(params.items())))


def _registration(f: ApplicantFacts, out: list[Failure]) -> None:
    if not f.registration_complete:
        out.append(_fail("registration_incomplete"))
    if f.registry_status != "matched":
        out.append(_fail("registry_not_matched"))


def _age(f: ApplicantFacts, r: PolicyRules, today: dt.date, out: list[Failure]) -> None:
    if f.birth_date is None:
        return  # no date yet: registration_incomplete says what to do
    age = age_on(f.birth_date, today)
    if age < r.age_min:
        out.append(_fail("age_below_min", age_min=r.age_min))
    elif r.age_max is not None and age > r.age_max:
        out.append(_fail("age_above_max", age_min=r.age_min, age_max=r.age_max))


def _status(f: ApplicantFacts, r: PolicyRules, out: list[Failure]) -> None:
    if f.occupation and f.occupation in r.excluded_occupations:
        out.append(_fail("excluded_occupation"))
    if r.exclude_other_aid and (
        not f.other_aid.isdisjoint(r.other_aid_programmes) or "other_aid" in f.lists
    ):
        out.append(_fail("other_aid_recipient"))
    if r.exclude_students and (f.is_student or "student" in f.lists):
        out.append(_fail("student"))


def _lists(f: ApplicantFacts, r: PolicyRules, out: list[Failure]) -> None:
    if f.lists:
        if "exclusion" in f.lists:
            out.append(_fail("on_exclusion_list"))
        if "blacklist" in f.lists:
            out.append(_fail("blacklisted"))
    if f.prior_benefit or "prior_recipient" in f.lists:
        out.append(_fail("prior_recipient"))
    if f.kk_recipients >= r.kk_cap:
        out.append(_fail("kk_cap_reached", kk_cap=r.kk_cap))


def evaluate(facts: ApplicantFacts, rules: PolicyRules, today: dt.date) -> EligibilityResult:
    """Every rule `facts` fail under `rules` on `today` (a Jakarta date), in a fixed order."""
    out: list[Failure] = []
    _registration(facts, out)
    _age(facts, rules, today, out)
    _status(facts, rules, out)
    _lists(facts, rules, out)
    return EligibilityResult(not out, tuple(out)) if out else _ELIGIBLE
