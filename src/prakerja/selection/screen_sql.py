"""Screening on PostgreSQL in one statement: every rule of `eligibility.evaluate` as SQL.

The reason codes, their order, the priority tier, inclusion flags, KK prior recipients and both
pseudonyms are exactly those the portable Python path (service_screen.evaluate_all) writes; a
test compares the two on a random population. Pseudonyms are set when a citizen joins; for an
application without them the statement computes them with pgcrypto's `hmac`, so without
pgcrypto `available` is False and screening takes the Python path.

One query (`_FACTS`), two ways to write its result: into the wave's new partition (`_REWRITE`,
via bulk.rewrite_wave), or into a temporary stage for a draw in the same transaction (`_STAGE`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from prakerja.registration.policy import PolicyRules
from prakerja.selection import bulk

# Per person: list membership, KK recipients from lists, own and KK selections in other waves.
_FACTS = """
WITH lst AS (
  SELECT nik_bidx,
         bool_or(list_kind = 'exclusion') AS ex, bool_or(list_kind = 'blacklist') AS bl,
         bool_or(list_kind = 'prior_recipient') AS pr, bool_or(list_kind = 'student') AS st,
         bool_or(list_kind = 'other_aid') AS oa, bool_or(list_kind = 'priority') AS prio,
         array_agg(DISTINCT kk_bidx) FILTER (WHERE list_kind = 'prior_recipient') AS pr_kks
  FROM listed_person WHERE nik_bidx <> '' GROUP BY nik_bidx
), kkl AS (
  SELECT kk_bidx, count(DISTINCT nik_bidx) AS n FROM listed_person
  WHERE list_kind = 'prior_recipient' AND kk_bidx <> '' GROUP BY kk_bidx
), own AS (
  SELECT DISTINCT person_id FROM application WHERE wave_id <> :w AND status = 'selected'
), kks AS (
  SELECT p.kk_bidx, count(DISTINCT o.person_id) AS n FROM application o
  JOIN person p ON p.id = o.person_id
  WHERE o.wave_id <> :w AND o.status = 'selected' AND p.kk_bidx <> '' GROUP BY p.kk_bidx
), f AS (
  SELECT a.person_id, a.regency_code, a.pseudonym AS pid0, a.kk_pseudonym AS kkp0,
    p.kk_bidx, p.disability, p.migrant_status,
    (p.identity_done_at IS NOT NULL AND p.profile_done_at IS NOT NULL
     AND p.ktp_done_at IS NOT NULL AND p.face_done_at IS NOT NULL
     AND p.phone_done_at IS NOT NULL AND p.statement_done_at IS NOT NULL
     AND p.test_done_at IS NOT NULL) AS complete,
    coalesce(p.registry_status, '') = 'matched' AS matched,
    :ty - extract(year FROM p.birth_date)::int
      - CASE WHEN (extract(month FROM p.birth_date), extract(day FROM p.birth_date))
                  > (:tm, :td) THEN 1 ELSE 0 END AS age,
    coalesce(p.occupation, '') <> '' AND p.occupation = ANY(CAST(:occ AS text[])) AS occ,
    EXISTS (SELECT 1 FROM unnest(string_to_array(coalesce(p.other_aid, ''), ',')) x
            WHERE btrim(x, E' \\t\\n\\r\\f\\v') = ANY(CAST(:aid AS text[]))) AS aid,
    coalesce(p.employment_status, '') = 'student' AS emp_student,
    coalesce(l.ex, false) AS ex, coalesce(l.bl, false) AS bl, coalesce(l.pr, false) AS pr,
    coalesce(l.st, false) AS st, coalesce(l.oa, false) AS oa, coalesce(l.prio, false) AS prio,
    CASE WHEN coalesce(p.kk_bidx, '') = '' THEN 0 ELSE coalesce(kkl.n, 0)
      - CASE WHEN p.kk_bidx = ANY(l.pr_kks) THEN 1 ELSE 0 END END AS kk_rec,
    own.person_id IS NOT NULL AS own,
    CASE WHEN coalesce(p.kk_bidx, '') = '' THEN 0 ELSE coalesce(kks.n, 0) END AS kk_sel
  FROM application a JOIN person p ON p.id = a.person_id
  LEFT JOIN lst l ON l.nik_bidx = p.nik_bidx
  LEFT JOIN kkl ON kkl.kk_bidx = p.kk_bidx
  LEFT JOIN kks ON kks.kk_bidx = p.kk_bidx
  LEFT JOIN own ON own.person_id = a.person_id
  WHERE a.wave_id = :w
), r AS (
  SELECT f.*, kk_rec + kk_sel - CASE WHEN own AND kk_sel > 0 THEN 1 ELSE 0 END AS prior,
    array_remove(ARRAY[
      CASE WHEN NOT complete THEN 'registration_incomplete' END,
      CASE WHEN NOT matched THEN 'registry_not_matched' END,
      CASE WHEN age < :age_min THEN 'age_below_min' END,
      CASE WHEN age >= :age_min AND age > :age_max THEN 'age_above_max' END,
      CASE WHEN occ THEN 'excluded_occupation' END,
      CASE WHEN :no_aid AND (aid OR oa) THEN 'other_aid_recipient' END,
      CASE WHEN :no_students AND (emp_student OR st) THEN 'student' END,
      CASE WHEN ex THEN 'on_exclusion_list' END,
      CASE WHEN bl THEN 'blacklisted' END,
      CASE WHEN pr THEN 'prior_recipient' END,
      CASE WHEN kk_rec >= :cap THEN 'kk_cap_reached' END,
      CASE WHEN own AND NOT pr THEN 'prior_recipient' END,
      CASE WHEN kk_rec < :cap AND kk_rec + kk_sel - CASE WHEN own AND kk_sel > 0 THEN 1
                                                        ELSE 0 END >= :cap
           THEN 'kk_cap_reached' END
    ]::text[], NULL) AS codes
  FROM f
), c AS (
  SELECT person_id, regency_code, codes, prior,
    CASE WHEN prio THEN 1 ELSE 0 END AS tier,
    (CASE WHEN disability THEN 1 ELSE 0 END) | (CASE WHEN migrant_status = 'former' THEN 2
                                                   ELSE 0 END) AS flags,
    coalesce(pid0, substring(hmac(convert_to(person_id::text, 'UTF8'), :key, 'sha256')
                             FROM 1 FOR 16)) AS pid,
    coalesce(kkp0, substring(hmac(convert_to(CASE WHEN coalesce(kk_bidx, '') <> ''
                                                  THEN 'kk:' || kk_bidx
                                                  ELSE 'person:' || person_id END, 'UTF8'),
                                  :key, 'sha256') FROM 1 FOR 16)) AS kkp
  FROM r
)
"""

# Every column of the wave's new partition (bulk.rewrite_wave).
_RESULT = {
    "status": "CASE WHEN cardinality(c.codes) = 0 THEN 'eligible' ELSE 'screened_out' END",
    "reasons": "to_json(c.codes)",
    "pseudonym": "c.pid",
    "kk_pseudonym": "c.kkp",
    "priority_tier": "c.tier",
    "inclusion_flags": "c.flags",
    "kk_prior": "least(c.prior, 255)",
}
_REWRITE = (
    _FACTS.rstrip()
    + "\nSELECT "
    + ", ".join(_RESULT.get(name, f"a.{name}") for name in bulk.COLUMNS)
    + "\nFROM application a JOIN c ON c.person_id = a.person_id WHERE a.wave_id = :w"
)
# The staged form (screen and draw in one transaction): the results in a temporary table with
# the column names of `application`, written to the wave's partition once, with the outcomes.
STAGE = "screen_stage"
_STAGE_COLUMNS = ("person_id", "regency_code", *_RESULT)
# Typed like `application`; filled by an INSERT (a CREATE TABLE AS cannot take parameters).
_STAGE_TABLE = (
    f"CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS SELECT {', '.join(_STAGE_COLUMNS)}"  # noqa: S608
    " FROM application WITH NO DATA"
)
_STAGE = (
    f"INSERT INTO {STAGE} ({', '.join(_STAGE_COLUMNS)}) "
    + _FACTS.rstrip()
    + "\nSELECT c.person_id, c.regency_code, "
    + ", ".join(_RESULT.values())
    + " FROM c"
)
#: What the wave's rewrite takes from the stage (alias s) for the columns screening decides.
STAGED = {name: f"s.{name}" for name in _RESULT}

# Reason codes only exist on screened-out rows, so only those are grouped by their text.
_COUNTS = """
SELECT status, priority_tier > 0,
       CASE WHEN status = 'eligible' THEN '[]' ELSE CAST(reasons AS text) END, count(*)
FROM application WHERE wave_id = :w GROUP BY 1, 2, 3
"""
_STAGE_COUNTS = _COUNTS.replace("FROM application WHERE wave_id = :w", f"FROM {STAGE}")


def available(session: Session) -> bool:
    """True on PostgreSQL when pgcrypto's hmac can be used (installing it if allowed)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    if session.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto'")):
        return True
    try:
        with session.begin_nested():
            session.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
    except Exception:  # no permission or not installed on the server: Python path
        return False
    return True


def _params(wave_id: int, rules: PolicyRules, today: dt.date, key: bytes) -> dict[str, Any]:
    return {
        "w": wave_id,
        "ty": today.year,
        "tm": today.month,
        "td": today.day,
        "occ": sorted(rules.excluded_occupations),
        "aid": sorted(rules.other_aid_programmes),
        "age_min": rules.age_min,
        "age_max": rules.age_max if rules.age_max is not None else 10**6,
        "no_aid": rules.exclude_other_aid,
        "no_students": rules.exclude_students,
        "cap": rules.kk_cap,
        "key": key,
    }


def screen_in_sql(
    session: Session,
    wave_id: int,
    rules: PolicyRules,
    today: dt.date,
    key: bytes,
    *,
    stage: bool = False,
) -> tuple[int, int, int, dict[str, int]]:
    """Write every application's screening result; (applications, eligible, priority, reasons).

    stage=True leaves the results in the temporary table STAGE,
    for a draw in the same transaction to write them together with its outcomes.
    """
    # One big statement: hash joins in memory, no JIT compile time (it costs more than it saves).
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    session.execute(text("SET LOCAL jit = off"))
    params = _params(wave_id, rules, today, key)
    # Each way yields (status, priority?, reason codes as a JSON array, count) groups.
    if stage:
        session.execute(text(_STAGE_TABLE))
        session.execute(text(_STAGE), params)
        session.execute(text(f"ANALYZE {STAGE}"))
        groups = session.execute(text(_STAGE_COUNTS))
    else:
        bulk.rewrite_wave(session, wave_id, _REWRITE, params)
        groups = session.execute(text(_COUNTS), {"w": wave_id})
    total = eligible = priority = 0
    reasons: dict[str, int] = {}
    for status, prio, codes, n in groups:
        total += n
        if status == "eligible":
            eligible += n
            priority += n if prio else 0
        for code in json.loads(codes):
            reasons[code] = reasons.get(code, 0) + n
    return total, eligible, priority, reasons
