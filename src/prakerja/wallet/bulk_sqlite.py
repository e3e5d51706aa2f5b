"""The portable (SQLite) path of bulk issuance: the same steps as bulk.py, in Python chunks.

SQLite has one writer: the first statement of a chunk writes (the budget row), so the ids read
next cannot be taken by anyone else before this transaction commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from prakerja.identity.model import Account
from prakerja.kit import jobs
from prakerja.kit.db import table_of
from prakerja.kit.notify import Notification
from prakerja.registration.model import Person
from prakerja.wallet import cards, rules
from prakerja.wallet.model import POSTED, Entry, LedgerAccount, Transfer
from prakerja.wallet.model_card import ACTIVE, Card

if TYPE_CHECKING:
    from prakerja.wallet.bulk import Pick

CHUNK = 2_000
Job = jobs.Job


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _parse(job_id: int, payload: dict[str, Any]) -> dict[str, Any] | None:
    fields = ("application_id", "person_id", "wave_id")
    if not all(_is_id(payload.get(f)) for f in fields):
        return None
    version = payload.get("policy_version_id")
    if version is not None and not _is_id(version):
        return None
    return {"job_id": job_id, **{f: payload[f] for f in fields}, "policy_version_id": version}


def _candidates(
    session: Session, wave_id: int, now: dt.datetime, pick: Pick
) -> list[dict[str, Any]]:
    stmt = (
        select(Job.id, Job.payload)
        .where(
            Job.kind == "wallet.issue_card",
            (Job.status == jobs.QUEUED) | ((Job.status == jobs.RUNNING) & (Job.locked_until < now)),
            func.json_extract(Job.payload, "$.wave_id") == wave_id,
        )
        .order_by(Job.id)
    )
    if pick.job_ids is not None:
        stmt = stmt.where(Job.id >= pick.job_ids.start, Job.id < pick.job_ids.stop)
    rows = [r for j, p in session.execute(stmt) if (r := _parse(j, p)) is not None]
    if pick.application_ids is not None:
        wanted = set(pick.application_ids)
        rows = [r for r in rows if r["application_id"] in wanted]
    return rows[: pick.limit] if pick.limit else rows


def _classify(
    session: Session, rows: list[dict[str, Any]], plans: dict[int, Any]
) -> tuple[list[dict[str, Any]], list[int], int]:
    """(new rows, job ids done without a new card, how many are left queued)."""
    persons = {r["person_id"] for r in rows}
    known = set(session.scalars(select(Person.id).where(Person.id.in_(persons))))
    carded = dict(
        session.execute(
            select(Card.person_id, Card.application_id).where(Card.person_id.in_(persons))
        )
        .tuples()
        .all()
    )
    by_app = dict(
        session.execute(
            select(Card.application_id, Card.person_id).where(
                Card.application_id.in_([r["application_id"] for r in rows])
            )
        )
        .tuples()
        .all()
    )
    new, done, left, seen_person, seen_app = [], [], 0, set(), set()
    for r in rows:
        other = by_app.get(r["application_id"])
        if (
            r["person_id"] not in known
            or (r["policy_version_id"] or 0) not in plans
            or (other is not None and other != r["person_id"])
        ):
            left += 1
        elif r["person_id"] in carded or r["person_id"] in seen_person:
            done.append(r["job_id"])
        elif r["application_id"] in seen_app:
            left += 1
        else:
            seen_person.add(r["person_id"])
            seen_app.add(r["application_id"])
            new.append(r)
    return new, done, left


def _next_id(session: Session, column: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.max(column), 0))) or 0) + 1


def _account_row(aid: int, cid: int, amount: int, now: dt.datetime) -> dict[str, Any]:
    return {"id": aid, "code": f"card:{cid}", "kind": "recipient", "allow_negative": False,
            "balance": amount, "held": 0, "created_at": now}  # fmt: skip


def _card_row(cid: int, aid: int, r: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    plan = r["plan"]
    return {"id": cid, "number": r["number"], "person_id": r["person_id"],
            "wave_id": r["wave_id"], "application_id": r["application_id"],
            "policy_version_id": r["policy_version_id"], "ledger_account_id": aid,
            "status": ACTIVE, "issued_at": now, "first_purchase_deadline": plan.deadline,
            "reminder_on": plan.reminder_on}  # fmt: skip


def _issue_rows(
    tid: int, budget_id: int, aid: int, r: dict[str, Any], now: dt.datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The balanced issue transfer (budget -> card) and its two entries."""
    amount = r["plan"].amount
    fp = rules.fingerprint(op="transfer", from_id=budget_id, to_id=aid, amount=amount,
                           kind="issue")  # fmt: skip
    transfer = {"id": tid, "key": f"issue:{r['application_id']}", "payload_hash": fp,
                "kind": "issue", "from_account_id": budget_id, "to_account_id": aid,
                "amount": amount, "status": POSTED,
                "meta": {"card_id": r["card_id"], "application_id": r["application_id"]},
                "created_at": now, "settled_at": now, "reverses_id": None}  # fmt: skip
    entries = [
        {"transfer_id": tid, "account_id": budget_id, "amount": -amount, "created_at": now},
        {"transfer_id": tid, "account_id": aid, "amount": amount, "created_at": now},
    ]
    return transfer, entries


def _write(
    session: Session,
    new: list[dict[str, Any]],
    plans: dict[int, Any],
    budget_id: int,
    now: dt.datetime,
) -> None:
    total = sum(plans[r["policy_version_id"] or 0].amount for r in new)
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == budget_id)
        .values(balance=LedgerAccount.balance - total)
    )  # takes the write lock
    card_id, account_id = _next_id(session, Card.id), _next_id(session, LedgerAccount.id)
    transfer_id = _next_id(session, Transfer.id)
    numbers = _fresh_numbers(session, len(new))
    accounts, card_rows, transfers, entries = [], [], [], []
    for i, r in enumerate(new):
        plan = plans[r["policy_version_id"] or 0]
        cid, aid, tid = card_id + i, account_id + i, transfer_id + i
        r.update(card_id=cid, number=numbers[i], plan=plan)
        accounts.append(_account_row(aid, cid, plan.amount, now))
        card_rows.append(_card_row(cid, aid, r, now))
        if plan.amount > 0:
            transfer, pair = _issue_rows(tid, budget_id, aid, r, now)
            transfers.append(transfer)
            entries += pair
    for table, rows in (
        (LedgerAccount, accounts),
        (Card, card_rows),
        (Transfer, transfers),
        (Entry, entries),
    ):
        if rows:
            session.execute(insert(table_of(table)), rows)
    _send_sms(session, new, now)


def _fresh_numbers(session: Session, count: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        batch = cards.new_card_numbers(count - len(out))
        taken = set(session.scalars(select(Card.number).where(Card.number.in_(batch))))
        out += [n for n in batch if n not in taken and n not in out]
    return out


def _send_sms(session: Session, new: list[dict[str, Any]], now: dt.datetime) -> None:
    found = (
        session.execute(
            select(Person.id, Account.phone, Account.language)
            .join(Account, Account.id == Person.account_id)
            .where(Person.id.in_([r["person_id"] for r in new]))
        )
        .tuples()
        .all()
    )
    phones = {person: (phone, lang) for person, phone, lang in found}
    notes = []
    for r in new:
        phone, lang = phones.get(r["person_id"], (None, "id"))
        if phone:
            text = r["plan"].sms_en if lang == "en" else r["plan"].sms_id
            notes.append(
                {
                    "channel": "sms",
                    "recipient": phone,
                    "subject": "",
                    "body": text.replace("{number}", r["number"]),
                    "status": "queued",
                    "created_at": now,
                }
            )
    if not notes:
        return
    table = table_of(Notification)
    ids = (
        session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), notes)
        .scalars()
        .all()
    )
    jobs.enqueue_many(session, "notify.deliver", ({"id": i} for i in ids), now=now)


def issue(
    session: Session,
    *,
    wave_id: int,
    now: dt.datetime,
    pick: Pick,
    budget_id: int,
    plan: Callable[[Session, int | None, dt.datetime], Any],
) -> tuple[int, int, int]:
    """(issued, done without a new card, left queued) over every candidate job, in chunks."""
    rows = _candidates(session, wave_id, now, pick)
    issued = done_count = left = 0
    plans: dict[int, Any] = {}
    for version in {r["policy_version_id"] for r in rows}:
        if (p := plan(session, version, now)) is not None:
            plans[version or 0] = p
    for start in range(0, len(rows), CHUNK):
        new, done, skipped = _classify(session, rows[start : start + CHUNK], plans)
        if new:
            _write(session, new, plans, budget_id, now)
        finished = done + [r["job_id"] for r in new]
        if finished:
            session.execute(
                update(Job)
                .where(Job.id.in_(finished))
                .values(status=jobs.DONE, finished_at=now, last_error=None, locked_until=None)
            )
        issued, done_count, left = issued + len(new), done_count + len(done), left + skipped
    session.expire_all()
    return issued, done_count, left
