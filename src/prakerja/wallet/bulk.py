"""Set-based card issuance for a whole wave: the fast path of the `wallet.issue_card` jobs.

Same result as running each job (`service_card.issue_card`): one card, one ledger account
`card:<id>`, one posted transfer `issue:<application_id>` from `budget` (same payload hash, so a
later per-job retry is recognised) with its two entries, one SMS, and the job marked done.
Jobs that the per-job path would refuse (unknown person or policy, malformed payload, an
application already carded for someone else) stay queued for it to report. Running it twice
issues nothing new. PostgreSQL: a handful of INSERT ... SELECT statements over temp tables,
with the foreign keys of the new rows established set-based (see below); elsewhere (SQLite):
the same steps in Python chunks. `issue_wave` runs a whole wave as chunks, one transaction
each, on two connections at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from prakerja.kit import jobs
from prakerja.kit.db import Database, bulk_insert, is_postgres
from prakerja.kit.errors import DomainError
from prakerja.wallet import bulk_sqlite, cards, service_card
from prakerja.wallet.service_card import SMS_SELECTED, policy_for, sms_text

ISSUE = "wallet.issue_card"
Job = jobs.Job
NUMBER = "{number}"
# Set-based FK checks instead of per-row triggers where allowed (see _row_triggers_off).
ROW_TRIGGERS_OFF = True
CHUNK = 200_000  # jobs per transaction in issue_wave
WORK_MEM = "128MB"  # for this transaction: the joins and sorts over a chunk stay in memory
RETRIES = 3
# unique_violation, deadlock_detected, serialization_failure: a race with another chunk.
_RETRY_CODES = {"23505", "40P01", "40001"}


@dataclass(frozen=True)
class BulkReport:
    """What one bulk run did: new cards, jobs closed without a new card, jobs left queued."""

    issued: int
    already_done: int
    left_queued: int


@dataclass(frozen=True)
class PolicyPlan:
    """Everything a new card of one policy gets, computed once per policy."""

    key: int  # policy_version_id, 0 for the "2023+" preset
    amount: int
    deadline: dt.date
    reminder_on: dt.date
    sms_id: str
    sms_en: str


def plan_policy(
    session: Session, policy_version_id: int | None, now: dt.datetime
) -> PolicyPlan | None:
    """The plan of a policy, or None when the version is unknown (its jobs stay queued)."""
    try:
        rules = policy_for(session, policy_version_id)
    except DomainError:
        return None
    due = cards.deadlines_at_issue(rules, now)
    texts = {
        lang: sms_text(
            lang,
            SMS_SELECTED,
            number=NUMBER,
            balance=rules.training_balance,
            deadline=due.first_purchase,
        )
        for lang in ("id", "en")
    }
    return PolicyPlan(
        policy_version_id or 0,
        rules.training_balance,
        due.first_purchase,
        due.reminder_on,
        texts["id"],
        texts["en"],
    )


@dataclass(frozen=True)
class Pick:
    """Which queued jobs of the wave one run takes: all, the given applications, the jobs with
    an id in `job_ids`, at most `limit` of them (oldest first)."""

    application_ids: list[int] | None = None
    limit: int | None = None
    job_ids: range | None = None


def issue_cards_for_wave(
    session: Session,
    *,
    wave_id: int,
    now: dt.datetime,
    application_ids: list[int] | None = None,
    limit: int | None = None,
    job_ids: range | None = None,
) -> BulkReport:
    """Issue the cards of every queued `wallet.issue_card` job of the wave (or of the given
    applications, or of the jobs with an id in `job_ids`; at most `limit` jobs, oldest first),
    keeping every ledger invariant."""
    pick = Pick(application_ids, limit, job_ids)
    budget_id, _ = service_card.system_accounts(session, now)
    if is_postgres(session):
        return _issue_postgres(session, wave_id, now, pick, budget_id)
    issued, done, left = bulk_sqlite.issue(
        session, wave_id=wave_id, now=now, pick=pick, budget_id=budget_id, plan=plan_policy
    )
    return BulkReport(issued, done, left)


def issue_wave(
    db: Database,
    *,
    wave_id: int,
    now: dt.datetime,
    workers: int = 2,
    chunk: int = CHUNK,
    on_chunk: Callable[[BulkReport], None] | None = None,
) -> BulkReport:
    """Issue every queued card of the wave: chunks of about `chunk` jobs (by job id range), one
    transaction each, on `workers` connections at once (it owns its transactions, like the job
    runner). Chunks never share a job; one that loses a race to another (the same winner queued
    twice, the same fresh number drawn twice) rolls back and runs again. `on_chunk` hears each
    committed chunk's report (from the worker's thread), e.g. to advance a progress bar."""
    with db.transaction() as session:
        service_card.system_accounts(session, now)  # created once, not raced by the workers
        ranges = _job_ranges(session, chunk)
    if workers > 1 and len(ranges) > 1 and is_postgres(db.engine):
        failed = threading.Event()  # after a failure no further chunk starts

        def chunk_of(ids: range) -> BulkReport:
            if failed.is_set():
                return BulkReport(0, 0, 0)
            try:
                return _retrying(db, wave_id, now, ids, on_chunk)
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(min(workers, len(ranges))) as pool:
            parts = list(pool.map(chunk_of, ranges))
    else:
        parts = [_retrying(db, wave_id, now, r, on_chunk) for r in ranges]
    # Jobs queued meanwhile, and what the chunks left queued, counted once: a last pass.
    last = _retrying(db, wave_id, now, None, on_chunk)
    return BulkReport(
        sum(p.issued for p in parts) + last.issued,
        sum(p.already_done for p in parts) + last.already_done,
        last.left_queued,
    )


def _job_ranges(session: Session, chunk: int) -> list[range]:
    """Job id ranges holding about `chunk` issuance jobs each (ids of one wave are dense). The
    first is half as long, so parallel chunks run out of step: two connections writing the
    same indexes at the same moment queue for the same rightmost pages."""
    low, high, count = session.execute(
        select(func.min(Job.id), func.max(Job.id), func.count()).where(
            Job.kind == ISSUE, Job.status.in_((jobs.QUEUED, jobs.RUNNING))
        )
    ).one()
    if not count:
        return []
    parts = -(-int(count) // max(chunk, 1))
    step = -(-(high + 1 - low) // parts)
    starts = sorted({low, *range(low + step // 2, high + 1, step)})
    return [range(a, b) for a, b in zip(starts, [*starts[1:], high + 1], strict=True)]


def _retrying(
    db: Database,
    wave_id: int,
    now: dt.datetime,
    ids: range | None,
    on_chunk: Callable[[BulkReport], None] | None = None,
) -> BulkReport:
    for attempt in range(RETRIES):
        try:
            with db.transaction() as session:
                report = issue_cards_for_wave(session, wave_id=wave_id, now=now, job_ids=ids)
            if on_chunk is not None:
                on_chunk(report)
            return report
        except (IntegrityError, OperationalError) as exc:
            code = getattr(exc.orig, "sqlstate", None)
            if attempt + 1 == RETRIES or code not in _RETRY_CODES:
                raise
    raise AssertionError("unreachable")


# --- PostgreSQL -------------------------------------------------------------------------------
# Per-row FK triggers (seven checks per card) cost about as much as the rest of the inserts
# together. When the role may set session_replication_role, they are off for the four
# ledger/card inserts and each reference is established set-based in the same transaction:
# persons and policy versions are locked FOR KEY SHARE (the lock the trigger would take), the
# budget row is locked by its UPDATE (which must find it), and every other reference points at a
# row this transaction has just inserted (row counts checked), which no other transaction can
# see, let alone delete, before commit. The constraints stay; only their per-row check moves.


def _is_id(col: str) -> str:
    """SQL: `col` is 1 to 18 decimal digits (a bigint id), without a regex per row."""
    return f"(length({col}) BETWEEN 1 AND 18 AND ltrim({col}, '0123456789') = '')"


_SELECT_JOBS = f"""
CREATE TEMP TABLE _card_claim ON COMMIT DROP AS
SELECT j.id AS job_id, x.application_id::bigint AS application_id,
       x.person_id::bigint AS person_id, x.wave_id::bigint AS wave_id,
       x.policy_version_id::bigint AS policy_version_id
FROM job j CROSS JOIN LATERAL json_to_record(j.payload)
     AS x(application_id text, person_id text, wave_id text, policy_version_id text)
WHERE j.kind = '{ISSUE}'
  AND (j.status = 'queued' OR (j.status = 'running' AND j.locked_until < :now))
  AND json_typeof(j.payload) = 'object'
  AND x.wave_id = :wave AND {_is_id("x.application_id")} AND {_is_id("x.person_id")}
  AND (x.policy_version_id IS NULL OR {_is_id("x.policy_version_id")})
  {{only}}
ORDER BY j.id {{limit}}
FOR UPDATE OF j SKIP LOCKED
"""  # noqa: S608  (only module constants are interpolated; values are bound)
# The persons exist and stay (the lock an FK check on card.person_id would take), set-based.
_LOCK_PERSONS = """
CREATE TEMP TABLE _card_person ON COMMIT DROP AS
SELECT p.id AS person_id, p.account_id FROM person p
WHERE p.id IN (SELECT person_id FROM _card_claim)
FOR KEY SHARE OF p
"""
# What each claimed job gets: 'leave' (queued for the per-job path to report: the person or
# policy is unknown, or the application is carded for someone else), 'done' (the person holds
# a card already, or an older job of this run cards them) or 'new'.
_CLASSIFY = """
CREATE TEMP TABLE _card_jobs ON COMMIT DROP AS
SELECT t.*, CASE
         WHEN x.person_id IS NULL OR p.policy_key IS NULL OR c.person_id <> t.person_id
           THEN 'leave'
         WHEN d.person_id IS NOT NULL THEN 'done'
         ELSE 'new' END AS action
FROM _card_claim t
LEFT JOIN _card_person x ON x.person_id = t.person_id
LEFT JOIN _card_policy p ON p.policy_key = coalesce(t.policy_version_id, 0)
LEFT JOIN card c ON c.application_id = t.application_id
LEFT JOIN card d ON d.person_id = t.person_id
"""
# A winner queued twice in this run: the older job cards them, the newer is done; an
# application queued twice for two persons: the newer stays queued. (Only repeated keys are
# ranked, so the common case costs one hash aggregate, not a sort.)
_ONCE = """
UPDATE _card_jobs t SET action = '{then}' FROM
  (SELECT job_id, row_number() OVER (PARTITION BY {key} ORDER BY job_id) AS r
   FROM _card_jobs WHERE action = 'new' AND {key} IN
     (SELECT {key} FROM _card_jobs WHERE action = 'new' GROUP BY {key} HAVING count(*) > 1)) d
WHERE t.job_id = d.job_id AND d.r > 1
"""
_DEDUPE = (
    _ONCE.format(key="person_id", then="done"),
    _ONCE.format(key="application_id", then="leave"),
)
# Ids come from the tables' own sequences (safe beside any other writer), drawn row by row in
# one scan, so ids, cards and entries are written in the same order.
_NEW = """
CREATE TEMP TABLE _card_new ON COMMIT DROP AS
SELECT s.*, nextval({card}::regclass) AS card_id,
       nextval({account}::regclass) AS account_id,
       nextval({transfer}::regclass) AS transfer_id
FROM (SELECT t.job_id, t.application_id, t.person_id, t.wave_id, t.policy_version_id,
             n.number, p.policy_key, p.amount, p.deadline, p.reminder_on
      FROM (SELECT *, row_number() OVER () AS ord FROM _card_jobs WHERE action = 'new') t
      JOIN _card_numbers n ON n.ord = t.ord
      JOIN _card_policy p ON p.policy_key = coalesce(t.policy_version_id, 0)) s
"""
_ACCOUNTS = """INSERT INTO ledger_account (id, code, kind, allow_negative, balance, held,
                                           created_at)
       SELECT account_id, 'card:' || card_id, 'recipient', false, amount, 0, :now
       FROM _card_new"""
_CARDS = """INSERT INTO card (id, number, person_id, wave_id, application_id, policy_version_id,
                         ledger_account_id, status, issued_at, first_purchase_deadline,
                         reminder_on)
       SELECT card_id, number, person_id, wave_id, application_id, policy_version_id,
              account_id, 'active', :now, deadline, reminder_on FROM _card_new"""
_TRANSFERS = """INSERT INTO ledger_transfer (id, key, payload_hash, kind, from_account_id,
                                    to_account_id, amount, status, meta, created_at, settled_at)
       SELECT transfer_id, 'issue:' || application_id,
              encode(sha256(convert_to('{"amount":' || amount || ',"from_id":' || :budget
                  || ',"kind":"issue","op":"transfer","to_id":' || account_id || '}', 'UTF8')),
                  'hex'),
              'issue', :budget, account_id, amount, 'posted',
              json_build_object('card_id', card_id, 'application_id', application_id),
              :now, :now
       FROM _card_new WHERE amount > 0"""
_ENTRIES = """INSERT INTO ledger_entry (transfer_id, account_id, amount, created_at)
       SELECT transfer_id, x.account_id, x.amount, :now
       FROM _card_new n CROSS JOIN LATERAL
            (VALUES (:budget, -n.amount), (n.account_id, n.amount)) x(account_id, amount)
       WHERE n.amount > 0"""
_SMS = """WITH sms AS (
         INSERT INTO notification (channel, recipient, subject, body, status, created_at)
         SELECT 'sms', a.phone, '',
                replace(CASE WHEN a.language = 'en' THEN p.sms_en ELSE p.sms_id END,
                        '{number}', n.number), 'queued', :now
         FROM _card_new n JOIN _card_policy p ON p.policy_key = n.policy_key
         JOIN _card_person x ON x.person_id = n.person_id
         JOIN account a ON a.id = x.account_id
         WHERE a.phone IS NOT NULL AND a.phone <> ''
         RETURNING id)
       INSERT INTO job (kind, payload, status, attempts, max_attempts, run_after, created_at)
       SELECT 'notify.deliver', json_build_object('id', id), 'queued', 0, 8, :now, :now
       FROM sms"""
_JOBS_DONE = """UPDATE job SET status = 'done', finished_at = :now, last_error = NULL,
                      locked_until = NULL
       WHERE id IN (SELECT job_id FROM _card_jobs WHERE action IN ('new', 'done'))
         AND id BETWEEN (SELECT min(job_id) FROM _card_jobs)
                    AND (SELECT max(job_id) FROM _card_jobs)"""  # one chunk's ids, not all
_SET_LOCAL = text("SELECT set_config(:name, :value, true)")  # like SET LOCAL, with a bind
_NOT_ALLOWED = "42501"  # insufficient_privilege
# Last, so the budget row is locked only for the commit (other issuers update it too).
_BUDGET = """UPDATE ledger_account SET balance = balance - :total WHERE id = :budget"""


def _issue_postgres(
    session: Session, wave_id: int, now: dt.datetime, pick: Pick, budget_id: int
) -> BulkReport:
    for name in (
        "_card_claim",
        "_card_jobs",
        "_card_person",
        "_card_policy",
        "_card_numbers",
        "_card_new",
    ):
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    work_mem = session.scalar(text("SELECT current_setting('work_mem')"))
    session.execute(_SET_LOCAL, {"name": "work_mem", "value": WORK_MEM})
    _select_jobs(session, wave_id, now, pick)
    session.execute(text(_LOCK_PERSONS))
    session.execute(text("ANALYZE _card_person"))
    _load_policies(session, now)
    session.execute(text(_CLASSIFY))
    for stmt in _DEDUPE:
        session.execute(text(stmt))
    session.execute(text(_JOBS_DONE), {"now": now})  # while the claimed job pages are cached
    count = int(session.scalar(text("SELECT count(*) FROM _card_jobs WHERE action = 'new'")) or 0)
    if count:
        _load_numbers(session, count)
        session.execute(text(_NEW.format(**_sequences(session))))
        _write(session, now, budget_id)
    counts: dict[str, int] = dict(
        session.execute(text("SELECT action, count(*) FROM _card_jobs GROUP BY action"))
        .tuples()
        .all()
    )
    session.execute(_SET_LOCAL, {"name": "work_mem", "value": work_mem})
    session.expire_all()
    return BulkReport(counts.get("new", 0), counts.get("done", 0), counts.get("leave", 0))


def _select_jobs(session: Session, wave_id: int, now: dt.datetime, pick: Pick) -> None:
    only, params = "", {"now": now, "wave": str(wave_id)}
    if pick.application_ids:
        app = "x.application_id"
        only += f" AND CASE WHEN {_is_id(app)} THEN {app}::bigint END = ANY(:ids)"
        params["ids"] = [int(i) for i in pick.application_ids]
    if pick.job_ids is not None:
        only += " AND j.id >= :lo AND j.id < :hi"
        params |= {"lo": pick.job_ids.start, "hi": pick.job_ids.stop}
    limit = ""
    if pick.limit:
        limit, params["limit"] = "LIMIT :limit", int(pick.limit)
    session.execute(text(_SELECT_JOBS.replace("{only}", only).replace("{limit}", limit)), params)
    session.execute(text("ANALYZE _card_claim"))  # temp tables have no statistics otherwise


def _sequences(session: Session) -> dict[str, int]:
    """The oid of each id sequence, so nextval() needs no name lookup per row."""
    return {
        name: int(
            session.scalar(
                text("SELECT pg_get_serial_sequence(:t, 'id')::regclass::oid"), {"t": table}
            )
        )
        for name, table in (
            ("card", "card"),
            ("account", "ledger_account"),
            ("transfer", "ledger_transfer"),
        )
    }


def _write(session: Session, now: dt.datetime, budget_id: int) -> None:
    """The inserts, each row count checked: a card, account or transfer short of the plan
    would leave a reference the FK triggers (when off) did not check."""
    params = {"now": now, "budget": budget_id}
    new, paid, total = session.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE amount > 0), coalesce(sum(amount), 0)"
            " FROM _card_new"
        )
    ).one()
    before = _row_triggers_off(session)
    for sql, want in ((_ACCOUNTS, new), (_CARDS, new), (_TRANSFERS, paid), (_ENTRIES, 2 * paid)):
        _expect(session.execute(text(sql), params), want, sql)
    if before is not None:  # back on for whatever else the caller's transaction does
        session.execute(_SET_LOCAL, {"name": "session_replication_role", "value": before})
    session.execute(text(_SMS), params)
    _expect(session.execute(text(_BUDGET), {**params, "total": int(total)}), 1, _BUDGET)


def _row_triggers_off(session: Session) -> str | None:
    """Switch per-row triggers off for this transaction if the role may (superuser, or GRANT SET
    ON PARAMETER session_replication_role): the setting to restore, or None (they stay on)."""
    if not ROW_TRIGGERS_OFF:
        return None
    before = str(session.scalar(text("SELECT current_setting('session_replication_role')")))
    try:
        with session.begin_nested():
            session.execute(_SET_LOCAL, {"name": "session_replication_role", "value": "replica"})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _NOT_ALLOWED:
            raise
        return None
    return before


def _expect(result: Any, want: int, sql: str) -> None:
    if result.rowcount != want:
        raise RuntimeError(f"bulk issuance wrote {result.rowcount} rows, not {want}: {sql[:60]}")


def _load_policies(session: Session, now: dt.datetime) -> None:
    session.execute(
        text("""CREATE TEMP TABLE _card_policy (policy_key bigint PRIMARY KEY,
        amount bigint, deadline date, reminder_on date, sms_id text, sms_en text)
        ON COMMIT DROP""")
    )
    versions = session.scalars(text("SELECT DISTINCT policy_version_id FROM _card_claim")).all()
    plans = [p for v in versions if (p := plan_policy(session, v, now)) is not None]
    # The versions stay (the lock an FK check on card.policy_version_id would take).
    ids = [p.key for p in plans if p.key]
    locked = set(
        session.scalars(
            text("SELECT id FROM policy_version WHERE id = ANY(:ids) FOR KEY SHARE"),
            {"ids": ids},
        )
    )
    plans = [p for p in plans if not p.key or p.key in locked]
    if plans:
        session.execute(
            text(
                "INSERT INTO _card_policy VALUES (:key, :amount, :deadline, "
                ":reminder_on, :sms_id, :sms_en)"
            ),
            [p.__dict__ for p in plans],
        )


def _load_numbers(session: Session, count: int) -> None:
    """Fresh distinct numbers, none already on a card, numbered 1..count (COPY)."""
    session.execute(
        text("CREATE TEMP TABLE _card_numbers (ord bigint, number text) ON COMMIT DROP")
    )
    have = written = 0
    while have < count:
        fresh = cards.new_card_numbers(count - have + 16)
        rows = ((written + i, n) for i, n in enumerate(fresh, start=1))
        bulk_insert(session, _TempNumbers(), ["ord", "number"], rows)
        written += len(fresh)
        session.execute(text("DELETE FROM _card_numbers x USING card c WHERE c.number = x.number"))
        if written > len(fresh):  # a second batch may repeat a number of the first
            session.execute(text(_DROP_REPEATS))
        have = int(session.scalar(text("SELECT count(*) FROM _card_numbers")) or 0)
    if have < written:  # close the gaps so ord runs 1..have
        session.execute(text(_RENUMBER))


_DROP_REPEATS = """DELETE FROM _card_numbers WHERE ctid IN (SELECT ctid FROM
    (SELECT ctid, row_number() OVER (PARTITION BY number ORDER BY ord) AS r
     FROM _card_numbers) d WHERE r > 1)"""
_RENUMBER = """UPDATE _card_numbers x SET ord = d.r FROM
    (SELECT ctid, row_number() OVER (ORDER BY ord) AS r FROM _card_numbers) d
    WHERE x.ctid = d.ctid"""


class _TempNumbers:
    name = "_card_numbers"
