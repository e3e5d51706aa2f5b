"""Intake: store each message once, triage it, link it, and put it on a ticket of its thread.

`ingest_many` is set-based: one existence query per chunk of source ids, one model call for
the whole batch, one insert for the new tickets and one for the messages (COPY on PostgreSQL).
A bad row is reported with its reason and the good rows still go in.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from prakerja.feedback import linking, routing
from prakerja.feedback.classifier import Triage, TriageModel
from prakerja.feedback.intake_rules import (
    TICKET_TOKEN,
    BadRow,
    Incoming,
    clean,
    language,
    needs_ticket,
    ticket_token,
    triage_text,
)
from prakerja.feedback.model import Message, Ticket
from prakerja.feedback.textnorm import mask_pii
from prakerja.kit.db import bulk_insert, is_postgres, new_id
from prakerja.kit.errors import Invalid

CHUNK = 900
PARALLEL_FROM = 20_000  # below this a batch is triaged in-process


class MessageRejected(Invalid):
    code = "feedback.message_rejected"
    title = "The message cannot be accepted"


@dataclass
class IngestReport:
    """What a batch did: new message ids, duplicates skipped, and bad rows with reasons."""

    created: list[int] = field(default_factory=list)
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "duplicates": self.duplicates,
            "errors": [{"row": r, "reason": e} for r, e in self.errors],
        }


def _predict_chunk(model: TriageModel, texts: list[str]) -> list[Triage]:
    return model.predict(texts)


def triage_all(model: TriageModel, texts: Sequence[str]) -> list[Triage]:
    """The model's reading of every text, in order; large batches use every core."""
    cores = os.cpu_count() or 1
    if len(texts) < PARALLEL_FROM or cores < 2:
        return model.predict(list(texts))
    from joblib import Parallel, delayed

    size = -(-len(texts) // cores)
    parts = [list(texts[i : i + size]) for i in range(0, len(texts), size)]
    with Parallel(n_jobs=cores) as pool:
        results = pool(delayed(_predict_chunk)(model, p) for p in parts)
    return [t for part in results for t in part]


def _active_model() -> TriageModel:
    from prakerja.feedback.registry import active_model

    return active_model()


def _existing(session: Session, items: list[Incoming]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for channel in {i.channel for i in items}:
        ids = sorted({i.source_id for i in items if i.channel == channel})
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            stmt = select(Message.source_id).where(
                Message.channel == channel, Message.source_id.in_(part)
            )
            found.update((channel, s) for s in session.scalars(stmt))
    return found


def _accepted(
    session: Session, rows: Sequence[Incoming], report: IngestReport
) -> list[tuple[Incoming, bool]]:
    seen: set[tuple[str, str]] = set()
    good: list[tuple[Incoming, bool]] = []
    for no, raw in enumerate(rows, 1):
        try:
            item, cut = clean(raw)
        except BadRow as exc:
            report.errors.append((no, str(exc)))
            continue
        key = (item.channel, item.source_id)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        good.append((item, cut))
    stored = _existing(session, [i for i, _ in good])
    fresh = [(i, c) for i, c in good if (i.channel, i.source_id) not in stored]
    report.duplicates += len(good) - len(fresh)
    return fresh


def ingest_many(
    session: Session,
    rows: Sequence[Incoming],
    *,
    now: dt.datetime,
    model: TriageModel | None = None,
) -> IngestReport:
    """Store every new, valid message once; idempotent by (channel, source_id)."""
    report = IngestReport()
    fresh = _accepted(session, rows, report)
    if not fresh:
        return report
    items = [i for i, _ in fresh]
    model = model or _active_model()
    triage = triage_all(model, [triage_text(i) for i in items])
    links = linking.link_many(
        session,
        [linking.Clue(i.author_email, i.author_phone, str(i.body), i.account_id) for i in items],
    )
    threads = _threads(session, items)
    tickets = _tickets(session, items, triage, links, threads, now)
    version = model.meta.get("version")
    rows_out = [
        _row(i, cut, t, lk, threads[n], tickets[n], version)
        for n, ((i, cut), t, lk) in enumerate(zip(fresh, triage, links, strict=True))
    ]
    _insert_messages(session, rows_out)
    report.created = _ids_of(session, items)
    return report


def ingest(
    session: Session, item: Incoming, *, now: dt.datetime, model: TriageModel | None = None
) -> tuple[Message, bool]:
    """Store one message: (message, True) when new, (the stored one, False) when seen before."""
    report = ingest_many(session, [item], now=now, model=model)
    if report.errors:
        raise MessageRejected(report.errors[0][1])
    stored = session.scalar(
        select(Message).where(
            Message.channel == item.channel, Message.source_id == item.source_id.strip()
        )
    )
    if stored is None:
        raise MessageRejected("the message was not stored")
    return stored, bool(report.created)


# --- threads and tickets ---------------------------------------------------------------------


def _threads(session: Session, items: list[Incoming]) -> list[str]:
    """A thread key per item: an email joins the thread of a message it answers."""
    refs = sorted({r for i in items if i.channel == "email" for r in i.references})
    known: dict[str, str] = {}
    for start in range(0, len(refs), CHUNK):
        stmt = select(Message.source_id, Message.thread_id).where(
            Message.channel == "email", Message.source_id.in_(refs[start : start + CHUNK])
        )
        known.update({s: t for s, t in session.execute(stmt) if t})
    batch = {i.source_id: i for i in items if i.channel == "email"}
    return [_thread_of(i, known, batch) for i in items]


def _thread_of(item: Incoming, known: dict[str, str], batch: dict[str, Incoming]) -> str:
    if item.channel == "email":
        for ref in item.references:  # References lists the root first
            if ref in known:
                return known[ref]
            if ref in batch and ref != item.source_id:
                return f"email:{batch[ref].references[0] if batch[ref].references else ref}"
        return f"email:{item.references[0] if item.references else item.source_id}"
    if item.thread_id:
        return f"{item.channel}:{item.thread_id}"
    return f"{item.channel}:{item.source_id}"


def _thread_tickets(session: Session, threads: list[str], items: list[Incoming]) -> dict[str, int]:
    keys = sorted(set(threads))
    found: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        stmt = select(Message.thread_id, Message.ticket_id).where(
            Message.thread_id.in_(keys[start : start + CHUNK]), Message.ticket_id.is_not(None)
        )
        found.update({t: k for t, k in session.execute(stmt) if t and k})
    tokens = {ticket_token(i.subject) for i in items} - {None}
    if tokens:
        by_token = {
            row.public_id: row
            for row in session.execute(
                select(Ticket.public_id, Ticket.id, Ticket.account_id, Ticket.contact_email).where(
                    Ticket.public_id.in_(sorted(tokens))
                )
            )
        }
        for thread, item in zip(threads, items, strict=True):
            ticket = by_token.get(ticket_token(item.subject) or "")
            if ticket is not None and _from_reporter(item, ticket.account_id, ticket.contact_email):
                found.setdefault(thread, ticket.id)
    return found


def _from_reporter(item: Incoming, account_id: int | None, email: str | None) -> bool:
    """A "[#ticket]" token threads a message onto that ticket only from whoever reported it:
    the same account, or a mail from the same address (an address typed into a web form
    proves nothing). A token is printed in every reply and easy to quote; anyone else's
    message would reopen and write on a stranger's ticket."""
    if account_id is not None and item.account_id == account_id:
        return True
    sender = (item.author_email or "").strip().lower() if item.channel == "email" else ""
    return bool(email and sender == email.lower())


def _tickets(
    session: Session,
    items: list[Incoming],
    triage: list[Triage],
    links: list[linking.Link],
    threads: list[str],
    now: dt.datetime,
) -> list[int | None]:
    """The ticket id of each item: its thread's ticket, a new one, or none (public praise)."""
    existing = _thread_tickets(session, threads, items)
    _reopen(session, set(existing.values()), now)
    table = routing.routes(session)
    new_rows: dict[str, dict[str, Any]] = {}
    for item, t, link, thread in zip(items, triage, links, threads, strict=True):
        if thread in existing or thread in new_rows:
            continue
        if needs_ticket(item.channel, t.topic, t.sentiment, t.urgent):
            new_rows[thread] = _ticket_row(item, t, link, table[t.topic], now)
    if new_rows:
        existing.update(_insert_tickets(session, new_rows))
    return [existing.get(t) for t in threads]


def _insert_tickets(session: Session, rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Insert the new tickets in one statement (COPY on PostgreSQL); thread key -> ticket id."""
    columns = list(next(iter(rows.values())))
    json_col = "linked_record"
    pg = is_postgres(session)
    values = [
        tuple(
            json.dumps(r[c]) if pg and c == json_col and r[c] is not None else r[c] for c in columns
        )
        for r in rows.values()
    ]
    bulk_insert(session, Ticket.__table__, columns, values)
    by_public = {r["public_id"]: thread for thread, r in rows.items()}
    keys = sorted(by_public)
    out: dict[str, int] = {}
    for start in range(0, len(keys), CHUNK):
        stmt = select(Ticket.public_id, Ticket.id).where(
            Ticket.public_id.in_(keys[start : start + CHUNK])
        )
        out.update({by_public[p]: i for p, i in session.execute(stmt)})
    return out


def _reopen(session: Session, ticket_ids: set[int], now: dt.datetime) -> None:
    ids = sorted(ticket_ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(Ticket)
            .where(Ticket.id.in_(ids[start : start + CHUNK]), Ticket.status == "resolved")
            .values(status="open", updated_at=now)
        )


def _ticket_row(
    item: Incoming, t: Triage, link: linking.Link, route: routing.Route, now: dt.datetime
) -> dict[str, Any]:
    first, resolve = routing.due_times(route, urgent=t.urgent, start=item.received_at)
    record = link.record
    return {
        "public_id": new_id(),
        "status": "new",
        "channel": item.channel,
        # a new ticket's subject never carries a "[#ticket]" token: any token here named a
        # ticket the message could not join (someone else's), and would show that ticket's id
        "subject": TICKET_TOKEN.sub("", item.subject).strip()
        or str(item.body)[:120].replace("\n", " "),
        "topic": t.topic,
        "priority": routing.priority(t.urgent, t.sentiment),
        "owner_team": route.team,
        "partner": item.partner or route.partner,
        "region": link.region or item.region,
        "account_id": link.account_id,
        "person_id": link.person_id,
        "contact_email": item.author_email,
        "contact_phone": item.author_phone,
        "linked_record": record,
        "record_kind": record["kind"] if record else None,
        "record_id": record["id"] if record else None,
        "first_response_due": first,
        "resolve_due": resolve,
        "breaches": "",
        "created_at": now,
        "updated_at": now,
    }


# --- message rows ----------------------------------------------------------------------------

COLUMNS = (
    "channel",
    "source_id",
    "thread_id",
    "author_name",
    "author_handle",
    "author_email",
    "author_phone",
    "account_id",
    "person_id",
    "received_at",
    "subject",
    "body",
    "body_truncated",
    "body_masked",
    "language",
    "region",
    "partner",
    "topic",
    "topic_conf",
    "sentiment",
    "sentiment_conf",
    "urgent",
    "needs_human",
    "triage_model_version",
    "linked_record",
    "attachment_enc",
    "attachment_type",
    "ticket_id",
)


def _row(
    item: Incoming,
    cut: bool,
    t: Triage,
    link: linking.Link,
    thread: str,
    ticket_id: int | None,
    version: Any,
) -> tuple[Any, ...]:
    body = str(item.body)
    return (
        item.channel,
        item.source_id,
        thread,
        item.author_name,
        item.author_handle,
        item.author_email,
        item.author_phone,
        link.account_id,
        link.person_id,
        item.received_at,
        item.subject,
        body,
        cut,
        mask_pii(body),
        language(body),
        link.region or item.region,
        item.partner,
        t.topic,
        t.topic_conf,
        t.sentiment,
        t.sentiment_conf,
        t.urgent,
        t.needs_human,
        int(version) if isinstance(version, int) else None,
        link.record,
        _encrypted(item.attachment),
        item.attachment_type if item.attachment else None,
        ticket_id,
    )


def _encrypted(data: bytes | None) -> bytes | None:
    if not data:
        return None
    from prakerja.identity.vault import encrypt

    return encrypt(data)


def _insert_messages(session: Session, rows: list[tuple[Any, ...]]) -> None:
    if is_postgres(session):
        json_at = COLUMNS.index("linked_record")
        rows = [
            (
                *r[:json_at],
                None if r[json_at] is None else json.dumps(r[json_at]),
                *r[json_at + 1 :],
            )
            for r in rows
        ]
    bulk_insert(session, Message.__table__, COLUMNS, rows)


def _ids_of(session: Session, items: list[Incoming]) -> list[int]:
    ids: list[int] = []
    for channel in {i.channel for i in items}:
        keys = [i.source_id for i in items if i.channel == channel]
        for start in range(0, len(keys), CHUNK):
            ids.extend(
                session.scalars(
                    select(Message.id).where(
                        Message.channel == channel,
                        Message.source_id.in_(keys[start : start + CHUNK]),
                    )
                )
            )
    return sorted(ids)
