"""Tie messages to citizens and to the record that is failing, through small lazy adapters.

Each adapter imports its context only when called and returns nothing when the context (or its
table) is not there yet, so the desk works while other contexts are still being built.
Reads are set-based: one query per kind of key for a whole batch.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from prakerja.kit import jobs

NIK_IN_TEXT = re.compile(r"(?<!\d)(\d{16})(?!\d)")
ORDER_IN_TEXT = re.compile(r"\b([0-9a-f]{32})\b")
HEALED_JOB = "feedback.record_healed"
CHUNK = 900  # keeps IN (...) lists under SQLite's parameter limit


@dataclass(frozen=True)
class Clue:
    """What a message says about its author: the contact details given and its text."""

    email: str | None = None
    phone: str | None = None
    text: str = ""
    account_id: int | None = None


@dataclass
class Link:
    """Who wrote the message and which record is failing, as far as the desk can tell."""

    account_id: int | None = None
    person_id: int | None = None
    region: str | None = None
    record: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def phone_e164(raw: str | None) -> str | None:
    """'0812-3456-789' / '62812...' / '+62812...' -> '+62812...'; None when not a phone."""
    digits = re.sub(r"\D", "", raw or "")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits if digits.startswith("62") and 10 <= len(digits) <= 15 else None


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _accounts_by(session: Session, column: Any, keys: set[str]) -> dict[str, tuple[int, str]]:
    ident = _module("prakerja.identity.model")
    if ident is None or not keys:
        return {}
    acc = ident.Account
    found: dict[str, tuple[int, str]] = {}
    for part in _chunks(sorted(keys)):
        stmt = select(column, acc.id, acc.status).where(column.in_(part), acc.kind == "citizen")
        found.update({k: (i, s) for k, i, s in session.execute(stmt)})
    return found


def _people(session: Session, *, account_ids: set[int], bidx: set[str]) -> dict[str, Any]:
    reg = _module("prakerja.registration.model")
    out: dict[str, Any] = {}
    if reg is None:
        return out
    person = reg.Person
    cols = (
        person.id,
        person.account_id,
        person.nik_bidx,
        person.regency_code,
        person.registry_status,
    )
    for part in _chunks(sorted(account_ids)):
        for row in session.execute(select(*cols).where(person.account_id.in_(part))):
            out[f"a{row.account_id}"] = row
    for part in _chunks(sorted(bidx)):
        for row in session.execute(select(*cols).where(person.nik_bidx.in_(part))):
            out[f"n{row.nik_bidx}"] = row
    return out


def _nik_bidx(text: str) -> str | None:
    match = NIK_IN_TEXT.search(text)
    if match is None:
        return None
    from prakerja.identity.vault import blind_index

    return blind_index(match.group(1), "nik")


def link_many(session: Session, clues: Sequence[Clue]) -> list[Link]:
    """One Link per clue, in order: account by id/email/phone, person by account or NIK."""
    ident = _module("prakerja.identity.model")
    emails = {c.email.strip().lower() for c in clues if c.email}
    phones = {p for c in clues if (p := phone_e164(c.phone))}
    by_email = _accounts_by(session, func.lower(ident.Account.email), emails) if ident else {}
    by_phone = _accounts_by(session, ident.Account.phone, phones) if ident else {}
    bidx = [_nik_bidx(c.text) if c.text != "" else None for c in clues]
    accounts = [_account_of(c, by_email, by_phone) for c in clues]
    people = _people(
        session, account_ids={a for a, _ in accounts if a}, bidx={b for b in bidx if b}
    )
    statuses = _account_statuses(session, {a for a, s in accounts if a and s is None})
    named = [m.group(1) if (m := ORDER_IN_TEXT.search(c.text)) else None for c in clues]
    orders = _orders(session, {o for o in named if o})
    links = []
    for (account_id, status), b, order_id in zip(accounts, bidx, named, strict=True):
        person = people.get(f"a{account_id}") or (people.get(f"n{b}") if b else None)
        if account_id is None and person is not None:
            account_id = person.account_id
        status = status or statuses.get(account_id or 0)
        link = _link(account_id, status, person)
        order = orders.get(order_id or "")
        # An order named in the text, unless it is someone else's: the writer's own, or any
        # when the writer is not known (a post on social media quoting the order id).
        mine = order is not None and (account_id is None or order[2] in (None, account_id))
        if link.record is None and order is not None and mine:
            link.record = {"kind": "marketplace.order", "id": order[0], "status": order[1]}
        links.append(link)
    return links


def _orders(session: Session, public_ids: set[str]) -> dict[str, tuple[int, str, int | None]]:
    """Public id -> (order id, status, the buyer's account id) for the orders named."""
    market = _module("prakerja.marketplace.model")
    cards = _module("prakerja.wallet.model_card")
    reg = _module("prakerja.registration.model")
    if market is None or cards is None or reg is None or not public_ids:
        return {}
    order, card, person = market.Order, cards.Card, reg.Person
    found: dict[str, tuple[int, str, int | None]] = {}
    for part in _chunks(sorted(public_ids)):
        rows = session.execute(
            select(order.public_id, order.id, order.status, person.account_id)
            .join(card, card.id == order.card_id)
            .outerjoin(person, person.id == card.person_id)
            .where(order.public_id.in_(part))
        )
        found.update({r[0]: (r[1], r[2], r[3]) for r in rows})
    return found


def _account_of(
    clue: Clue, by_email: dict[str, tuple[int, str]], by_phone: dict[str, tuple[int, str]]
) -> tuple[int | None, str | None]:
    if clue.account_id is not None:
        return clue.account_id, None
    hit = by_email.get((clue.email or "").strip().lower()) or by_phone.get(
        phone_e164(clue.phone) or ""
    )
    return (hit[0], hit[1]) if hit else (None, None)


def _account_statuses(session: Session, ids: set[int]) -> dict[int, str]:
    ident = _module("prakerja.identity.model")
    if ident is None or not ids:
        return {}
    acc = ident.Account
    return {
        i: s
        for part in _chunks(sorted(ids))
        for i, s in session.execute(select(acc.id, acc.status).where(acc.id.in_(part)))
    }


def _link(account_id: int | None, status: str | None, person: Any) -> Link:
    link = Link(account_id=account_id)
    if person is not None:
        link.person_id, link.region = person.id, person.regency_code
    if status == "blocked" and account_id is not None:
        link.record = {"kind": "identity.account", "id": account_id, "status": "blocked"}
    elif person is not None and person.registry_status in ("mismatch", "pending"):
        link.record = {
            "kind": "registration.registry",
            "id": person.id,
            "status": person.registry_status,
        }
    return link


# --- what the agent sees, and when the record heals ------------------------------------------

HINTS: dict[str, tuple[str, str]] = {
    "registration.registry": (
        "The civil registry did not match the NIK, name or birth date given at registration.",
        "Ask the citizen to check the data against their KTP/KK; update it at Dukcapil if the "
        "registry is wrong, then re-run the registry check.",
    ),
    "identity.account": (
        "The account is blocked.",
        "Check the block reason in the audit log; unblock only after identity is confirmed.",
    ),
    "marketplace.order": (
        "A course purchase is not complete.",
        "Check the order with the platform; escalate to the platform if the voucher was not "
        "delivered.",
    ),
}
HEALTHY = {
    "registration.registry": {"matched"},
    "identity.account": {"active"},
    "marketplace.order": {"confirmed", "redeemed", "completed"},
}


def hint(record: dict[str, Any] | None) -> tuple[str, str] | None:
    """(cause, fix) English msgids for a linked record, or None."""
    return HINTS.get(str((record or {}).get("kind")))


def current_status(session: Session, kind: str, record_id: int) -> str | None:
    """The record's status now, read through its context; None when unknown."""
    table = {
        "registration.registry": ("prakerja.registration.model", "Person", "registry_status"),
        "identity.account": ("prakerja.identity.model", "Account", "status"),
        "marketplace.order": ("prakerja.marketplace.model", "Order", "status"),
    }.get(kind)
    module = _module(table[0]) if table else None
    if table is None or module is None:
        return None
    model = getattr(module, table[1])
    value = session.scalar(select(getattr(model, table[2])).where(model.id == record_id))
    return None if value is None else str(value)


def is_healthy(kind: str, status: str | None) -> bool:
    """True when a record of this kind in this status no longer causes the complaint."""
    return status is not None and status in HEALTHY.get(kind, set())


def notify_record_healed(session: Session, *, kind: str, record_id: int, now: dt.datetime) -> None:
    """Other contexts call this when a record they own is fixed; the job updates the tickets."""
    jobs.enqueue(
        session,
        HEALED_JOB,
        {"kind": kind, "id": record_id},
        now=now,
        key=f"{HEALED_JOB}:{kind}:{record_id}:{now.isoformat()}",
    )


def operator_contacts(session: Session) -> list[tuple[str, str | None]]:
    """(email, phone) of active staff holding the operator role: the on-call list."""
    ident = _module("prakerja.identity.model")
    if ident is None:
        return []
    acc = ident.Account
    rows = session.execute(
        select(acc.email, acc.phone, acc.roles).where(acc.kind == "staff", acc.status == "active")
    )
    return [(e, p) for e, p, roles in rows if "operator" in (roles or "").split(",")]


def partner_channel(session: Session, code: str | None) -> tuple[int | None, str | None]:
    """(marketplace partner id with a webhook, contact email) of a partner code, when known."""
    market = _module("prakerja.marketplace.model")
    if market is None or not code:
        return None, None
    row = session.execute(
        select(market.Partner.id, market.Partner.webhook_url, market.Partner.contact_email).where(
            market.Partner.code == code
        )
    ).first()
    if row is None:
        return None, None
    return (row.id if row.webhook_url else None), (row.contact_email or None)
