"""Policy versions, applicant facts, eligibility checks and the policy diff preview.

Services take the caller's session and `now`, validate before writing and only flush. Every
operator action (draft, edit, publish, retire) is written to the audit chain. NIK and KK appear
only as blind indexes (and masked NIKs in previews), never raw in rows, logs or audit. List
imports live in service_lists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from prakerja.kit import audit
from prakerja.kit.clock import jakarta_date
from prakerja.kit.errors import Conflict, Invalid, NotFound
from prakerja.registration import eligibility, policy
from prakerja.registration.eligibility import ApplicantFacts, EligibilityResult
from prakerja.registration.model import Person
from prakerja.registration.model_policy import ListedPerson, PolicyVersion
from prakerja.registration.policy import PolicyRules

DEFAULT_PRESET = "2023+"
CODE_PATTERN = re.compile(r"\d{4}\.\d{1,3}")
# Lists that count towards the KK cap (the selection context adds its own recipients later).
KK_COUNTED_KINDS = ("prior_recipient",)
_DONE_COLUMNS = (
    "identity_done_at",
    "profile_done_at",
    "ktp_done_at",
    "face_done_at",
    "phone_done_at",
    "statement_done_at",
    "test_done_at",
)
_CHUNK = 5_000


class PolicyImmutable(Conflict):
    code = "policy_immutable"
    title = "A published policy version cannot be changed; copy it into a new draft"


class PolicyCodeTaken(Conflict):
    code = "policy_code_taken"
    title = "A policy version with this code already exists"


class PolicyInvalid(Invalid):
    code = "policy_invalid"
    title = "The policy has invalid fields"


class PolicyNotFound(NotFound):
    code = "policy_not_found"
    title = "No such policy version"


# --- versions ---------------------------------------------------------------------------------


def rules_of(version: PolicyVersion) -> PolicyRules:
    """The rules a stored version holds."""
    return policy.rules_from_json(version.rules)


def current_policy(session: Session) -> tuple[PolicyVersion, PolicyRules]:
    """The most recently published version; with none published, an unsaved (id None)
    version holding the "2023+" preset."""
    version = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.status == "published")
        .order_by(PolicyVersion.published_at.desc(), PolicyVersion.id.desc())
        .limit(1)
    )
    if version is not None:
        return version, rules_of(version)
    rules = policy.PRESETS[DEFAULT_PRESET]
    preset = PolicyVersion(
        id=None,
        code=f"preset {DEFAULT_PRESET}",
        scheme=rules.scheme,
        rules=policy.rules_to_json(rules),
        status="preset",
        created_by="system",
    )
    return preset, rules


def get_version(session: Session, version_id: int) -> PolicyVersion:
    """A version by id, or PolicyNotFound."""
    version = session.get(PolicyVersion, version_id)
    if version is None:
        raise PolicyNotFound()
    return version


def list_versions(session: Session) -> list[PolicyVersion]:
    """Every version, newest first."""
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.id.desc())))


def _check_code(session: Session, code: str) -> str:
    code = code.strip()
    if not CODE_PATTERN.fullmatch(code):
        raise PolicyInvalid(
            "The version code looks like 2023.1 (year, dot, number)",
            field_errors=[{"field": "code", "code": "code_format"}],
        )
    if session.scalar(select(PolicyVersion.id).where(PolicyVersion.code == code)) is not None:
        raise PolicyCodeTaken()
    return code


def create_draft(
    session: Session,
    *,
    code: str,
    actor: str,
    now: dt.datetime,
    preset: str | None = None,
    copy_from: int | None = None,
) -> PolicyVersion:
    """A new draft from a preset (default "2023+") or a copy of another version's rules."""
    if preset is not None and copy_from is not None:
        raise Invalid("Choose a preset or a version to copy, not both")
    if copy_from is not None:
        rules = rules_of(get_version(session, copy_from))
    elif (preset or DEFAULT_PRESET) in policy.PRESETS:
        rules = policy.PRESETS[preset or DEFAULT_PRESET]
    else:
        raise Invalid("Unknown preset", field_errors=[{"field": "preset", "code": "preset"}])
    version = PolicyVersion(
        code=_check_code(session, code),
        scheme=rules.scheme,
        rules=policy.rules_to_json(rules),
        status="draft",
        created_at=now,
        created_by=actor,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="policy.create_draft",
        target=f"policy_version:{version.id}",
        now=now,
        data={"code": version.code, "preset": preset, "copy_from": copy_from},
    )
    return version


def _draft(session: Session, version_id: int) -> PolicyVersion:
    version = get_version(session, version_id)
    if version.status != "draft":
        raise PolicyImmutable()
    return version


def update_draft(
    session: Session, *, version_id: int, rules: PolicyRules, actor: str, now: dt.datetime
) -> PolicyVersion:
    """Replace a draft's rules; published and retired versions refuse (PolicyImmutable)."""
    version = _draft(session, version_id)
    changes = policy.diff_rules(rules_of(version), rules)
    version.rules, version.scheme = policy.rules_to_json(rules), rules.scheme
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="policy.update_draft",
        target=f"policy_version:{version.id}",
        now=now,
        data={"changes": [[c.field, c.before, c.after] for c in changes]},
    )
    return version


def publish(session: Session, *, version_id: int, actor: str, now: dt.datetime) -> PolicyVersion:
    """Publish a draft; from then on it is immutable and (as the newest) the current policy."""
    version = _draft(session, version_id)
    problems = policy.check_rules(rules_of(version))
    if problems:
        raise PolicyInvalid(field_errors=[{"field": k, "code": v} for k, v in problems.items()])
    version.status, version.published_at = "published", now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="policy.publish",
        target=f"policy_version:{version.id}",
        now=now,
        data={"code": version.code, "rules": version.rules},
    )
    return version


def retire(session: Session, *, version_id: int, actor: str, now: dt.datetime) -> PolicyVersion:
    """Take a published version out of use (it stays readable for the waves that used it)."""
    version = get_version(session, version_id)
    if version.status != "published":
        raise Conflict("Only a published version can be retired")
    version.status = "retired"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="policy.retire",
        target=f"policy_version:{version.id}",
        now=now,
        data={"code": version.code},
    )
    return version


# --- facts ------------------------------------------------------------------------------------

_PERSON_COLUMNS = (
    Person.id,
    Person.nik_bidx,
    Person.kk_bidx,
    Person.nik_masked,
    Person.birth_date,
    Person.occupation,
    Person.other_aid,
    Person.registry_status,
    Person.employment_status,
    # every step done, as one boolean: the seven timestamps themselves are not needed
    and_(*(getattr(Person, c).is_not(None) for c in _DONE_COLUMNS)).label("complete"),
)


def count_kk_recipients(
    session: Session,
    kk_bidx: str | None,
    *,
    except_nik_bidx: str | None = None,
    also: set[str] | frozenset[str] = frozenset(),
) -> int:
    """Recipients already on this family card: the distinct NIKs on the prior_recipient list
    sharing the KK, plus the NIKs in `also` (the programme's own recipients on it, for
    registration's view; selection counts its own per wave itself and passes none)."""
    if not kk_bidx:
        return 0
    stmt = (
        select(ListedPerson.nik_bidx)
        .distinct()
        .where(ListedPerson.list_kind.in_(KK_COUNTED_KINDS), ListedPerson.kk_bidx == kk_bidx)
    )
    return len((set(session.scalars(stmt)) | also) - {except_nik_bidx})


@cache
def _recipient_sources() -> tuple[Any, ...]:
    from prakerja.contexts import import_all

    return tuple(m.own_recipients for m in import_all("recipients"))


def own_recipients(
    session: Session, nik_bidxs: Keys, kk_bidxs: Keys
) -> tuple[set[str], dict[str, set[str]]]:
    """This programme's own recipients among `nik_bidxs`, and per KK of `kk_bidxs`, from every
    later context's `recipients` module (selection: whoever a wave selected)."""
    niks: set[str] = set()
    by_kk: dict[str, set[str]] = {}
    for source in _recipient_sources():
        more, kks = source(session, nik_bidxs, kk_bidxs)
        niks |= more
        for kk, found in kks.items():
            by_kk.setdefault(kk, set()).update(found)
    return niks, by_kk


def _facts(row: Any, lists: frozenset[str], kk_recipients: int, complete: bool) -> ApplicantFacts:
    """`row`: a Person, or a row of `_PERSON_COLUMNS`."""
    aid = frozenset(a.strip() for a in (row.other_aid or "").split(",") if a.strip())
    return ApplicantFacts(
        birth_date=row.birth_date,
        occupation=row.occupation,
        other_aid=aid,
        lists=lists,
        registry_status=row.registry_status or "none",
        prior_benefit="prior_recipient" in lists,
        kk_recipients=kk_recipients,
        is_student="student" in lists or row.employment_status == "student",
        registration_complete=bool(complete),
    )


def lists_of(session: Session, nik_bidx: str | None) -> frozenset[str]:
    """The list kinds a NIK (by blind index) is on."""
    if not nik_bidx:
        return frozenset()
    return frozenset(
        session.scalars(
            select(ListedPerson.list_kind).distinct().where(ListedPerson.nik_bidx == nik_bidx)
        )
    )


def facts_for(session: Session, person: Person) -> ApplicantFacts:
    """The facts the eligibility rules need about one person (a few small queries)."""
    lists = lists_of(session, person.nik_bidx)
    niks, kks = (
        [person.nik_bidx] if person.nik_bidx else [],
        [person.kk_bidx] if person.kk_bidx else [],
    )
    mine, by_kk = own_recipients(session, niks, kks)
    if person.nik_bidx in mine:
        lists |= {"prior_recipient"}  # selected in a wave: the one lifetime benefit is used
    kk = count_kk_recipients(
        session,
        person.kk_bidx,
        except_nik_bidx=person.nik_bidx,
        also=by_kk.get(person.kk_bidx or "", set()),
    )
    return _facts(person, lists, kk, all(getattr(person, c) is not None for c in _DONE_COLUMNS))


def check(session: Session, person: Person, now: dt.datetime) -> EligibilityResult:
    """Every rule the person fails under the current policy, on today's Jakarta date."""
    _, rules = current_policy(session)
    return eligibility.evaluate(facts_for(session, person), rules, jakarta_date(now))


# NIKs or KKs given as values, or as a SELECT of them (a chunk of persons by id range: one
# short statement instead of thousands of bound parameters).
Keys = Sequence[str] | Select[Any]


def _bulk_lists(session: Session, bidxs: Keys) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    rows = session.execute(
        select(ListedPerson.nik_bidx, ListedPerson.list_kind)
        .distinct()
        .where(ListedPerson.nik_bidx.in_(bidxs))
    )
    for bidx, kind in rows:
        out.setdefault(str(bidx), set()).add(kind)
    return out


def _bulk_kk(session: Session, kks: Keys) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    rows = session.execute(
        select(ListedPerson.kk_bidx, ListedPerson.nik_bidx)
        .distinct()
        .where(ListedPerson.list_kind.in_(KK_COUNTED_KINDS), ListedPerson.kk_bidx.in_(kks))
    )
    for kk, nik in rows:
        out.setdefault(str(kk), set()).add(nik)
    return out


def iter_facts(
    session: Session, chunk: int = _CHUNK, *, own: bool = False
) -> Iterator[tuple[int, str | None, ApplicantFacts]]:
    """(person id, masked NIK, facts) for every person, in id order: three queries per chunk
    (five with `own`), giving the same facts as `facts_for` when `own` is set."""
    last = 0
    while True:
        rows = session.execute(
            select(*_PERSON_COLUMNS).where(Person.id > last).order_by(Person.id).limit(chunk)
        ).all()
        if not rows:
            return
        in_chunk = Person.id.between(rows[0].id, rows[-1].id)
        niks = select(Person.nik_bidx).where(in_chunk, Person.nik_bidx.is_not(None))
        kk_list = select(Person.kk_bidx).where(in_chunk, Person.kk_bidx.is_not(None)).distinct()
        lists = _bulk_lists(session, niks)
        kks = _bulk_kk(session, kk_list)
        if own:  # as facts_for; selection screens its own history per wave itself
            mine, by_kk = own_recipients(session, niks, kk_list)
            for card, found in by_kk.items():
                kks.setdefault(card, set()).update(found)
            for nik in mine:
                lists.setdefault(nik, set()).add("prior_recipient")
        for r in rows:
            on = frozenset(lists.get(r.nik_bidx, ())) if r.nik_bidx else frozenset()
            kk = len(kks.get(r.kk_bidx, set()) - {r.nik_bidx}) if r.kk_bidx else 0
            yield r.id, r.nik_masked, _facts(r, on, kk, r.complete)
        last = rows[-1].id


# --- diff preview -----------------------------------------------------------------------------


@dataclass
class DiffReport:
    """What publishing a draft would change for everyone registered today."""

    current_code: str
    draft_code: str
    changes: tuple[policy.FieldChange, ...]
    total: int = 0
    eligible_before: int = 0
    eligible_after: int = 0
    newly_eligible: int = 0
    newly_ineligible: int = 0
    # reason code -> people who newly fail it / no longer fail it
    reasons_added: Counter[str] = field(default_factory=Counter)
    reasons_removed: Counter[str] = field(default_factory=Counter)
    sample_newly_eligible: list[str] = field(default_factory=list)
    sample_newly_ineligible: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def _tally(
    report: DiffReport, before: EligibilityResult, after: EligibilityResult, people: int
) -> None:
    """Count `people` who share one set of facts (and so both results)."""
    report.total += people
    report.eligible_before += before.eligible * people
    report.eligible_after += after.eligible * people
    b, a = set(before.codes), set(after.codes)
    for code in a - b:
        report.reasons_added[code] += people
    for code in b - a:
        report.reasons_removed[code] += people
    if after.eligible and not before.eligible:
        report.newly_eligible += people
    elif before.eligible and not after.eligible:
        report.newly_ineligible += people


def _sample(report: DiffReport, masked: str, after: EligibilityResult, room: int) -> None:
    """Keep up to `room` masked NIKs of people whose eligibility flips, each way."""
    if after.eligible:
        if len(report.sample_newly_eligible) < room:
            report.sample_newly_eligible.append(masked)
    elif len(report.sample_newly_ineligible) < room:
        report.sample_newly_ineligible.append((masked, after.codes))


def diff_preview(
    session: Session, *, draft_id: int, now: dt.datetime, sample: int = 20
) -> DiffReport:
    """Evaluate every person under the current policy and under version `draft_id`; counts,
    per-reason changes and up to `sample` masked NIKs each way. Reads only."""
    current, before_rules = current_policy(session)
    draft = get_version(session, draft_id)
    after_rules = rules_of(draft)
    today = jakarta_date(now)
    report = DiffReport(current.code, draft.code, policy.diff_rules(before_rules, after_rules))
    # Many people share the same facts (same birth date, no list, a complete registration):
    # each distinct set of facts is evaluated once under each policy.
    seen: dict[ApplicantFacts, tuple[EligibilityResult, EligibilityResult, bool]] = {}
    people: Counter[ApplicantFacts] = Counter()
    for _pid, masked, facts in iter_facts(session, own=True):
        known = seen.get(facts)
        if known is None:
            before = eligibility.evaluate(facts, before_rules, today)
            after = (
                before if not report.changes else eligibility.evaluate(facts, after_rules, today)
            )
            known = seen[facts] = (before, after, before.eligible != after.eligible)
        people[facts] += 1
        if known[2]:
            _sample(report, masked or "-", known[1], sample)
    for facts, n in people.items():
        before, after, _ = seen[facts]
        _tally(report, before, after, n)
    return report
