"""Policy versions, applicant facts, eligibility checks, the policy diff preview, list imports.

Services take the caller's session and `now`, validate before writing and only flush. Every
operator action (draft, edit, publish, retire, import) is written to the audit chain. NIK and KK
appear only as blind indexes (and masked NIKs in previews), never raw in rows, logs or audit.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.kit import audit
from prakerja.kit.clock import jakarta_date
from prakerja.kit.db import is_postgres
from prakerja.kit.errors import Conflict, Invalid, NotFound
from prakerja.registration import eligibility, policy
from prakerja.registration.eligibility import ApplicantFacts, EligibilityResult
from prakerja.registration.model import Person
from prakerja.registration.model_policy import ListedPerson, ListImport, PolicyVersion
from prakerja.registration.nik import parse_nik
from prakerja.registration.policy import PolicyRules

DEFAULT_PRESET = "2023+"
CODE_PATTERN = re.compile(r"\d{4}\.\d{1,3}")
# Lists that count towards the KK cap (the selection context adds its own recipients later).
KK_COUNTED_KINDS = ("prior_recipient",)
_DONE_COLUMNS = ("identity_done_at", "profile_done_at", "ktp_done_at", "face_done_at",
                 "phone_done_at", "statement_done_at", "test_done_at")
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
    version = session.scalar(select(PolicyVersion).where(PolicyVersion.status == "published")
                             .order_by(PolicyVersion.published_at.desc(), PolicyVersion.id.desc())
                             .limit(1))
    if version is not None:
        return version, rules_of(version)
    rules = policy.PRESETS[DEFAULT_PRESET]
    preset = PolicyVersion(id=None, code=f"preset {DEFAULT_PRESET}", scheme=rules.scheme,
                           rules=policy.rules_to_json(rules), status="preset",
                           created_by="system")
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
        raise PolicyInvalid("The version code looks like 2023.1 (year, dot, number)",
                            field_errors=[{"field": "code", "code": "code_format"}])
    if session.scalar(select(PolicyVersion.id).where(PolicyVersion.code == code)) is not None:
        raise PolicyCodeTaken()
    return code


def create_draft(session: Session, *, code: str, actor: str, now: dt.datetime,
                 preset: str | None = None, copy_from: int | None = None) -> PolicyVersion:
    """A new draft from a preset (default "2023+") or a copy of another version's rules."""
    if preset is not None and copy_from is not None:
        raise Invalid("Choose a preset or a version to copy, not both")
    if copy_from is not None:
        rules = rules_of(get_version(session, copy_from))
    elif (preset or DEFAULT_PRESET) in policy.PRESETS:
        rules = policy.PRESETS[preset or DEFAULT_PRESET]
    else:
        raise Invalid("Unknown preset", field_errors=[{"field": "preset", "code": "preset"}])
    version = PolicyVersion(code=_check_code(session, code), scheme=rules.scheme,
                            rules=policy.rules_to_json(rules), status="draft", created_at=now,
                            created_by=actor)
    session.add(version)
    session.flush()
    audit.record(session, actor=actor, action="policy.create_draft",
                 target=f"policy_version:{version.id}", now=now,
                 data={"code": version.code, "preset": preset, "copy_from": copy_from})
    return version


def _draft(session: Session, version_id: int) -> PolicyVersion:
    version = get_version(session, version_id)
    if version.status != "draft":
        raise PolicyImmutable()
    return version


def update_draft(session: Session, *, version_id: int, rules: PolicyRules, actor: str,
                 now: dt.datetime) -> PolicyVersion:
    """Replace a draft's rules; published and retired versions refuse (PolicyImmutable)."""
    version = _draft(session, version_id)
    changes = policy.diff_rules(rules_of(version), rules)
    version.rules, version.scheme = policy.rules_to_json(rules), rules.scheme
    session.flush()
    audit.record(session, actor=actor, action="policy.update_draft",
                 target=f"policy_version:{version.id}", now=now,
                 data={"changes": [[c.field, c.before, c.after] for c in changes]})
    return version


def publish(session: Session, *, version_id: int, actor: str, now: dt.datetime) -> PolicyVersion:
    """Publish a draft; from then on it is immutable and (as the newest) the current policy."""
    version = _draft(session, version_id)
    problems = policy.check_rules(rules_of(version))
    if problems:
        raise PolicyInvalid(field_errors=[{"field": k, "code": v} for k, v in problems.items()])
    version.status, version.published_at = "published", now
    session.flush()
    audit.record(session, actor=actor, action="policy.publish",
                 target=f"policy_version:{version.id}", now=now,
                 data={"code": version.code, "rules": version.rules})
    return version


def retire(session: Session, *, version_id: int, actor: str, now: dt.datetime) -> PolicyVersion:
    """Take a published version out of use (it stays readable for the waves that used it)."""
    version = get_version(session, version_id)
    if version.status != "published":
        raise Conflict("Only a published version can be retired")
    version.status = "retired"
    session.flush()
    audit.record(session, actor=actor, action="policy.retire",
                 target=f"policy_version:{version.id}", now=now, data={"code": version.code})
    return version


# --- facts ------------------------------------------------------------------------------------

_PERSON_COLUMNS = (Person.id, Person.nik_bidx, Person.kk_bidx, Person.nik_masked,
                   Person.birth_date, Person.occupation, Person.other_aid,
                   Person.registry_status, Person.employment_status,
                   *(getattr(Person, c) for c in _DONE_COLUMNS))


def count_kk_recipients(session: Session, kk_bidx: str | None, *,
                        except_nik_bidx: str | None = None) -> int:
    """Seam: recipients already on this family card. For now, the distinct NIKs on the
    prior_recipient list sharing the KK; selection will add this programme's own recipients."""
    if not kk_bidx:
        return 0
    stmt = select(func.count(func.distinct(ListedPerson.nik_bidx))).where(
        ListedPerson.list_kind.in_(KK_COUNTED_KINDS), ListedPerson.kk_bidx == kk_bidx)
    if except_nik_bidx:
        stmt = stmt.where(ListedPerson.nik_bidx != except_nik_bidx)
    return int(session.scalar(stmt) or 0)


def _facts(row: Row[Any] | Person, lists: frozenset[str], kk_recipients: int) -> ApplicantFacts:
    aid = frozenset(a.strip() for a in (row.other_aid or "").split(",") if a.strip())
    complete = all(getattr(row, c) is not None for c in _DONE_COLUMNS)
    return ApplicantFacts(
        birth_date=row.birth_date, occupation=row.occupation, other_aid=aid, lists=lists,
        registry_status=row.registry_status or "none",
        prior_benefit="prior_recipient" in lists, kk_recipients=kk_recipients,
        is_student="student" in lists or row.employment_status == "student",
        registration_complete=complete)


def lists_of(session: Session, nik_bidx: str | None) -> frozenset[str]:
    """The list kinds a NIK (by blind index) is on."""
    if not nik_bidx:
        return frozenset()
    return frozenset(session.scalars(select(ListedPerson.list_kind).distinct()
                                     .where(ListedPerson.nik_bidx == nik_bidx)))


def facts_for(session: Session, person: Person) -> ApplicantFacts:
    """The facts the eligibility rules need about one person (three small queries)."""
    lists = lists_of(session, person.nik_bidx)
    kk = count_kk_recipients(session, person.kk_bidx, except_nik_bidx=person.nik_bidx)
    return _facts(person, lists, kk)


def check(session: Session, person: Person, now: dt.datetime) -> EligibilityResult:
    """Every rule the person fails under the current policy, on today's Jakarta date."""
    _, rules = current_policy(session)
    return eligibility.evaluate(facts_for(session, person), rules, jakarta_date(now))


def _bulk_lists(session: Session, bidxs: Sequence[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    rows = session.execute(select(ListedPerson.nik_bidx, ListedPerson.list_kind).distinct()
                           .where(ListedPerson.nik_bidx.in_(bidxs)))
    for bidx, kind in rows:
        out.setdefault(str(bidx), set()).add(kind)
    return out


def _bulk_kk(session: Session, kks: Sequence[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    rows = session.execute(select(ListedPerson.kk_bidx, ListedPerson.nik_bidx).distinct()
                           .where(ListedPerson.list_kind.in_(KK_COUNTED_KINDS),
                                  ListedPerson.kk_bidx.in_(kks)))
    for kk, nik in rows:
        out.setdefault(str(kk), set()).add(nik)
    return out


def iter_facts(session: Session, chunk: int = _CHUNK
               ) -> Iterator[tuple[int, str | None, ApplicantFacts]]:
    """(person id, masked NIK, facts) for every person, in id order: three queries per chunk,
    giving the same facts as `facts_for`."""
    last = 0
    while True:
        rows = session.execute(select(*_PERSON_COLUMNS).where(Person.id > last)
                               .order_by(Person.id).limit(chunk)).all()
        if not rows:
            return
        lists = _bulk_lists(session, [r.nik_bidx for r in rows if r.nik_bidx])
        kks = _bulk_kk(session, list({r.kk_bidx for r in rows if r.kk_bidx}))
        for r in rows:
            on = frozenset(lists.get(r.nik_bidx, ())) if r.nik_bidx else frozenset()
            kk = len(kks.get(r.kk_bidx, set()) - {r.nik_bidx}) if r.kk_bidx else 0
            yield r.id, r.nik_masked, _facts(r, on, kk)
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


def _tally(report: DiffReport, masked: str, before: EligibilityResult,
           after: EligibilityResult, sample: int) -> None:
    report.total += 1
    report.eligible_before += before.eligible
    report.eligible_after += after.eligible
    b, a = set(before.codes), set(after.codes)
    report.reasons_added.update(a - b)
    report.reasons_removed.update(b - a)
    if after.eligible and not before.eligible:
        report.newly_eligible += 1
        if len(report.sample_newly_eligible) < sample:
            report.sample_newly_eligible.append(masked)
    elif before.eligible and not after.eligible:
        report.newly_ineligible += 1
        if len(report.sample_newly_ineligible) < sample:
            report.sample_newly_ineligible.append((masked, after.codes))


def diff_preview(session: Session, *, draft_id: int, now: dt.datetime,
                 sample: int = 20) -> DiffReport:
    """Evaluate every person under the current policy and under version `draft_id`; counts,
    per-reason changes and up to `sample` masked NIKs each way. Reads only."""
    current, before_rules = current_policy(session)
    draft = get_version(session, draft_id)
    after_rules = rules_of(draft)
    today = jakarta_date(now)
    report = DiffReport(current.code, draft.code, policy.diff_rules(before_rules, after_rules))
    for _pid, masked, facts in iter_facts(session):
        before = eligibility.evaluate(facts, before_rules, today)
        after = before if not report.changes else eligibility.evaluate(facts, after_rules, today)
        _tally(report, masked or "-", before, after, sample)
    return report


# --- list imports -----------------------------------------------------------------------------

ROW_MESSAGES = {
    "duplicate_in_file": "This NIK already appears on row %(first)s of the file",
    "kk_format": "The family card (KK) number must be exactly 16 digits",
    "reason_too_long": "The reason is longer than 200 characters",
}
MAX_STORED_ERRORS = 1_000


class ListFileInvalid(Invalid):
    code = "list_file_invalid"
    title = "The list file cannot be read"


@dataclass(frozen=True)
class RowError:
    """One rejected row: its line number in the file (header = 1), a code and an English msgid."""

    row: int
    code: str
    message: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ListImportReport:
    """Counts are exact; `errors` holds the first MAX_STORED_ERRORS rejected rows."""

    import_id: int
    file_name: str
    kind: str
    source: str
    rows_total: int
    rows_loaded: int
    rows_existing: int
    rows_rejected: int
    errors: tuple[RowError, ...]


def _check_list_row(line: int, row: dict[str, str | None], seen: dict[str, int],
                    today: dt.date) -> tuple[dict[str, str] | None, RowError | None]:
    nik = (row.get("nik") or "").strip()
    parsed = parse_nik(nik, today=today)
    if not parsed.valid:
        first = parsed.errors[0]
        return None, RowError(line, first.code, first.message, first.params)
    if parsed.nik in seen:
        return None, RowError(line, "duplicate_in_file", ROW_MESSAGES["duplicate_in_file"],
                              (("first", str(seen[parsed.nik])),))
    seen[parsed.nik] = line
    kk = "".join((row.get("kk") or "").split())
    if kk and (len(kk) != 16 or not kk.isascii() or not kk.isdigit()):
        return None, RowError(line, "kk_format", ROW_MESSAGES["kk_format"])
    reason = (row.get("reason") or "").strip()
    if len(reason) > 200:
        return None, RowError(line, "reason_too_long", ROW_MESSAGES["reason_too_long"])
    return {"nik": parsed.nik, "kk": kk, "reason": reason}, None


def read_list_file(path: Path, today: dt.date) -> tuple[list[dict[str, str]], list[RowError],
                                                        int]:
    """Valid rows, every rejected row, and the number of data rows; ListFileInvalid when the
    file is not UTF-8 CSV with `nik` and `reason` columns."""
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = {h.strip().lower() for h in reader.fieldnames or ()}
            missing = [c for c in ("nik", "reason") if c not in header]
            if missing:
                raise ListFileInvalid(f"Missing column: {', '.join(missing)}",
                                      missing_columns=missing)
            reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or ()]
            numbered = [(reader.line_num, row) for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ListFileInvalid("The file is not a UTF-8 CSV file") from exc
    good: list[dict[str, str]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, row in numbered:
        ok, error = _check_list_row(line, row, seen, today)
        if ok is not None:
            good.append(ok)
        elif error is not None:
            errors.append(error)
    return good, errors, len(numbered)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING in chunks: entries already listed stay as they are."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if is_postgres(session) else sqlite
    stmt = dialect.insert(ListedPerson).on_conflict_do_nothing(
        index_elements=["list_kind", "nik_bidx", "source"])
    for start in range(0, len(rows), _CHUNK):
        session.execute(stmt, rows[start:start + _CHUNK])


def _check_import_args(kind: str, source: str) -> str:
    if kind not in eligibility.LIST_KINDS:
        raise Invalid("Unknown list kind", field_errors=[{"field": "kind", "code": "kind"}])
    source = source.strip()
    if not 1 <= len(source) <= 120:
        raise Invalid("The source must be 1 to 120 characters",
                      field_errors=[{"field": "source", "code": "source"}])
    return source


def import_list(session: Session, *, path: Path, kind: str, source: str, actor: str,
                now: dt.datetime, file_name: str | None = None,
                progress: Callable[[str], None] | None = None) -> ListImportReport:
    """Load a `nik,reason[,kk]` CSV onto a list: valid rows load, bad rows are reported with
    their line numbers; NIKs already on the list from this source add nothing (idempotent)."""
    step = progress or (lambda _msg: None)
    source = _check_import_args(kind, source)
    step("validate")
    good, errors, total = read_list_file(Path(path), jakarta_date(now))
    batch = ListImport(file_name=(file_name or Path(path).name)[:200], kind=kind, source=source,
                       rows_total=total, created_at=now, created_by=actor)
    session.add(batch)
    session.flush()
    step("load")
    _insert_new(session, [{
        "list_kind": kind, "nik_bidx": vault.blind_index(r["nik"], "nik"),
        "kk_bidx": vault.blind_index(r["kk"], "kk") if r["kk"] else None, "source": source,
        "reason": r["reason"], "batch_id": batch.id, "imported_at": now} for r in good])
    loaded = int(session.scalar(select(func.count()).select_from(ListedPerson)
                                .where(ListedPerson.batch_id == batch.id)) or 0)
    batch.rows_loaded, batch.rows_existing = loaded, len(good) - loaded
    batch.rows_rejected = len(errors)
    batch.errors = [{"row": e.row, "code": e.code, "message": e.message,
                     "params": dict(e.params)} for e in errors[:MAX_STORED_ERRORS]]
    session.flush()
    audit.record(session, actor=actor, action="lists.import", target=f"list_import:{batch.id}",
                 now=now, data={"kind": kind, "source": source, "file": batch.file_name,
                                "total": total, "loaded": loaded, "rejected": len(errors)})
    return ListImportReport(batch.id, batch.file_name, kind, source, total, loaded,
                            len(good) - loaded, len(errors), tuple(errors[:MAX_STORED_ERRORS]))


def list_imports(session: Session, limit: int = 100) -> list[ListImport]:
    """The newest list imports."""
    return list(session.scalars(select(ListImport).order_by(ListImport.id.desc()).limit(limit)))


def get_import(session: Session, import_id: int) -> ListImport:
    """One list import, or NotFound."""
    batch = session.get(ListImport, import_id)
    if batch is None:
        raise NotFound()
    return batch
