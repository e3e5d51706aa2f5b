"""Set-based card issuance for a whole wave: the fast path of the `wallet.issue_card` jobs.

Same result as running each job (`service_card.issue_card`): one card, one ledger account
`card:<id>`, one posted transfer `issue:<application_id>` from `budget` (same payload hash, so a
later per-job retry is recognised) with its two entries, one SMS, and the job marked done.
Jobs that the per-job path would refuse (unknown person or policy, malformed payload, an
application already carded for someone else) stay queued for it to report. Running it twice
issues nothing new. PostgreSQL: a handful of INSERT ... SELECT statements over temp tables;
elsewhere (SQLite): the same steps in Python chunks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from prakerja.kit.db import bulk_insert, is_postgres
from prakerja.kit.errors import DomainError
from prakerja.wallet import bulk_sqlite, cards, service_card
from prakerja.wallet.service_card import SMS_SELECTED, policy_for, sms_text

ISSUE = "wallet.issue_card"
NUMBER = "{number}"


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


def issue_cards_for_wave(
    session: Session,
    *,
    wave_id: int,
    now: dt.datetime,
    application_ids: list[int] | None = None,
    limit: int | None = None,
) -> BulkReport:
    """Issue the cards of every queued `wallet.issue_card` job of the wave (or of the given
    applications; at most `limit` jobs, oldest first), keeping every ledger invariant."""
    budget_id, _ = service_card.system_accounts(session, now)
    if is_postgres(session):
        return _issue_postgres(session, wave_id, now, application_ids, limit, budget_id)
    issued, done, left = bulk_sqlite.issue(
        session,
        wave_id=wave_id,
        now=now,
        application_ids=application_ids,
        limit=limit,
        budget_id=budget_id,
        plan=plan_policy,
    )
    return BulkReport(issued, done, left)


# --- PostgreSQL -------------------------------------------------------------------------------

_DIGITS = r"'^[0-9]{1,18}$'"
_SELECT_JOBS = f"""
CREATE TEMP TABLE _card_jobs ON COMMIT DROP AS
SELECT j.id AS job_id,
       (j.payload->>'application_id')::bigint AS application_id,
       (j.payload->>'person_id')::bigint AS person_id,
       (j.payload->>'wave_id')::bigint AS wave_id,
       (j.payload->>'policy_version_id')::bigint AS policy_version_id,
       'new'::text AS action
FROM job j
WHERE j.kind = '{ISSUE}'
  AND (j.status = 'queued' OR (j.status = 'running' AND j.locked_until < :now))
  AND j.payload->>'wave_id' = :wave
  AND j.payload->>'application_id' ~ {_DIGITS} AND j.payload->>'person_id' ~ {_DIGITS}
  AND (j.payload->>'policy_version_id' IS NULL
       OR j.payload->>'policy_version_id' ~ {_DIGITS})
  {{only}}
ORDER BY j.id {{limit}}
FOR UPDATE OF j SKIP LOCKED
"""  # noqa: S608  (only module constants are interpolated; values are bound)
_CLASSIFY = (
    # The per-job path would raise for these; leave them queued so it reports why.
    """UPDATE _card_jobs t SET action = 'leave' WHERE NOT EXISTS
         (SELECT 1 FROM person p WHERE p.id = t.person_id)
       OR NOT EXISTS (SELECT 1 FROM _card_policy p
                      WHERE p.policy_key = coalesce(t.policy_version_id, 0))
       OR EXISTS (SELECT 1 FROM card c WHERE c.application_id = t.application_id
                  AND c.person_id <> t.person_id)""",
    # Already carded (a rerun, or once-per-lifetime): done without a new card.
    """UPDATE _card_jobs t SET action = 'done' WHERE action = 'new' AND EXISTS
         (SELECT 1 FROM card c WHERE c.person_id = t.person_id)""",
    """UPDATE _card_jobs t SET action = 'done' FROM
         (SELECT job_id, row_number() OVER (PARTITION BY person_id ORDER BY job_id) AS r
          FROM _card_jobs WHERE action = 'new') d
       WHERE t.job_id = d.job_id AND d.r > 1""",
    """UPDATE _card_jobs t SET action = 'leave' FROM
         (SELECT job_id, row_number() OVER (PARTITION BY application_id ORDER BY job_id) AS r
          FROM _card_jobs WHERE action = 'new') d
       WHERE t.job_id = d.job_id AND d.r > 1""",
)
_NEW = """
CREATE TEMP TABLE _card_new ON COMMIT DROP AS
SELECT t.*, n.number, p.amount, p.deadline, p.reminder_on, p.sms_id, p.sms_en,
       nextval(pg_get_serial_sequence('card', 'id')) AS card_id,
       nextval(pg_get_serial_sequence('ledger_account', 'id')) AS account_id,
       nextval(pg_get_serial_sequence('ledger_transfer', 'id')) AS transfer_id
FROM (SELECT *, row_number() OVER (ORDER BY job_id) AS ord FROM _card_jobs
      WHERE action = 'new') t
JOIN (SELECT number, row_number() OVER (ORDER BY ord) AS ord FROM _card_numbers) n
  ON n.ord = t.ord
JOIN _card_policy p ON p.policy_key = coalesce(t.policy_version_id, 0)
"""
_INSERTS = (
    """INSERT INTO ledger_account (id, code, kind, allow_negative, balance, held, created_at)
       SELECT account_id, 'card:' || card_id, 'recipient', false, amount, 0, :now
       FROM _card_new""",
    """INSERT INTO card (id, number, person_id, wave_id, application_id, policy_version_id,
                         ledger_account_id, status, issued_at, first_purchase_deadline,
                         reminder_on)
       SELECT card_id, number, person_id, wave_id, application_id, policy_version_id,
              account_id, 'active', :now, deadline, reminder_on FROM _card_new""",
    """INSERT INTO ledger_transfer (id, key, payload_hash, kind, from_account_id, to_account_id,
                                    amount, status, meta, created_at, settled_at)
       SELECT transfer_id, 'issue:' || application_id,
              encode(sha256(convert_to('{"amount":' || amount || ',"from_id":' || :budget
                  || ',"kind":"issue","op":"transfer","to_id":' || account_id || '}', 'UTF8')),
                  'hex'),
              'issue', :budget, account_id, amount, 'posted',
              json_build_object('card_id', card_id, 'application_id', application_id),
              :now, :now
       FROM _card_new WHERE amount > 0""",
    """INSERT INTO ledger_entry (transfer_id, account_id, amount, created_at)
       SELECT transfer_id, :budget, -amount, :now FROM _card_new WHERE amount > 0
       UNION ALL
       SELECT transfer_id, account_id, amount, :now FROM _card_new WHERE amount > 0""",
    """UPDATE ledger_account SET balance = balance - coalesce(
         (SELECT sum(amount) FROM _card_new), 0) WHERE id = :budget""",
    """WITH sms AS (
         INSERT INTO notification (channel, recipient, subject, body, status, created_at)
         SELECT 'sms', a.phone, '',
                replace(CASE WHEN a.language = 'en' THEN n.sms_en ELSE n.sms_id END,
                        '{number}', n.number), 'queued', :now
         FROM _card_new n JOIN person p ON p.id = n.person_id
         JOIN account a ON a.id = p.account_id
         WHERE a.phone IS NOT NULL AND a.phone <> ''
         ORDER BY n.ord RETURNING id)
       INSERT INTO job (kind, payload, status, attempts, max_attempts, run_after, created_at)
       SELECT 'notify.deliver', json_build_object('id', id), 'queued', 0, 8, :now, :now
       FROM sms""",
    """UPDATE job SET status = 'done', finished_at = :now, last_error = NULL,
                      locked_until = NULL
       WHERE id IN (SELECT job_id FROM _card_jobs WHERE action IN ('new', 'done'))""",
)


def _issue_postgres(
    session: Session,
    wave_id: int,
    now: dt.datetime,
    application_ids: list[int] | None,
    limit: int | None,
    budget_id: int,
) -> BulkReport:
    for name in ("_card_jobs", "_card_policy", "_card_numbers", "_card_new"):
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    only = "AND (j.payload->>'application_id')::bigint = ANY(:ids)" if application_ids else ""
    sql = _SELECT_JOBS.replace("{only}", only).replace("{limit}", "LIMIT :limit" if limit else "")
    params: dict[str, Any] = {"now": now, "wave": str(wave_id)}
    if application_ids:
        params["ids"] = [int(i) for i in application_ids]
    if limit:
        params["limit"] = int(limit)
    session.execute(text(sql), params)
    session.execute(text("ANALYZE _card_jobs"))  # temp tables have no statistics otherwise
    _load_policies(session, now)
    for stmt in _CLASSIFY:
        session.execute(text(stmt))
    count = int(session.scalar(text("SELECT count(*) FROM _card_jobs WHERE action = 'new'")) or 0)
    _load_numbers(session, count)
    session.execute(text(_NEW))
    session.execute(text("ANALYZE _card_new"))
    for stmt in _INSERTS:
        session.execute(text(stmt), {"now": now, "budget": budget_id})
    counts: dict[str, int] = dict(
        session.execute(text("SELECT action, count(*) FROM _card_jobs GROUP BY action"))
        .tuples()
        .all()
    )
    session.expire_all()
    return BulkReport(counts.get("new", 0), counts.get("done", 0), counts.get("leave", 0))


def _load_policies(session: Session, now: dt.datetime) -> None:
    session.execute(
        text("""CREATE TEMP TABLE _card_policy (policy_key bigint PRIMARY KEY,
        amount bigint, deadline date, reminder_on date, sms_id text, sms_en text)
        ON COMMIT DROP""")
    )
    versions = session.scalars(text("SELECT DISTINCT policy_version_id FROM _card_jobs")).all()
    plans = [p for v in versions if (p := plan_policy(session, v, now)) is not None]
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
    have, ord_ = 0, 0
    while have < count:
        fresh = cards.new_card_numbers(count - have + 16)
        table = _TempNumbers()
        bulk_insert(session, table, ["ord", "number"], ((ord_ + i, n) for i, n in enumerate(fresh)))
        ord_ += len(fresh)
        session.execute(text("DELETE FROM _card_numbers x USING card c WHERE c.number = x.number"))
        session.execute(
            text(
                "DELETE FROM _card_numbers WHERE ctid IN (SELECT ctid FROM "
                "(SELECT ctid, row_number() OVER (PARTITION BY number ORDER BY ord)"
                " AS r FROM _card_numbers) d WHERE r > 1)"
            )
        )
        have = int(session.scalar(text("SELECT count(*) FROM _card_numbers")) or 0)
    session.execute(text("ANALYZE _card_numbers"))


class _TempNumbers:
    name = "_card_numbers"
