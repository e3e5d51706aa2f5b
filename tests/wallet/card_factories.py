"""Factories for card tests: people with a phone, issuance jobs, a published policy."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity import vault
from prakerja.identity.model import Account
from prakerja.kit import jobs
from prakerja.kit.db import new_id
from prakerja.registration import policy
from prakerja.registration.model import Person
from prakerja.registration.model_policy import PolicyVersion

# 2026-06-01 10:00 in Jakarta (UTC+7).
NOW = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC)
WAVE = 7


def make_person(
    session: Session, serial: int, *, phone: bool = True, language: str = "id"
) -> Person:
    account = Account(
        public_id=new_id(),
        email=f"card{serial}@example.id",
        password_hash="x",
        kind="citizen",
        language=language,
        created_at=NOW,
        email_verified_at=NOW,
        phone=f"+62812{serial:08d}" if phone else None,
    )
    session.add(account)
    session.flush()
    nik = f"3201011505{95:02d}{serial % 10000:04d}"
    person = Person(
        account_id=account.id,
        nik_bidx=vault.blind_index(f"{nik}{serial}", "nik"),
        kk_bidx=vault.blind_index(f"3201{serial:012d}", "kk"),
        nik_masked="3201********0001",
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(person)
    session.flush()
    return person


def application_id(person_id: int, wave: int = WAVE) -> int:
    return wave * 10**12 + person_id


def payload(person: Person, *, wave: int = WAVE, policy_version_id: int | None = None) -> dict:
    return {
        "application_id": application_id(person.id, wave),
        "person_id": person.id,
        "wave_id": wave,
        "policy_version_id": policy_version_id,
    }


def enqueue_winners(
    session: Session,
    people: list[Person],
    *,
    wave: int = WAVE,
    policy_version_id: int | None = None,
) -> None:
    for p in people:
        jobs.enqueue(
            session,
            "wallet.issue_card",
            payload(p, wave=wave, policy_version_id=policy_version_id),
            key=f"issue-job:{application_id(p.id, wave)}",
            now=NOW,
        )


def published_2020_policy(session: Session) -> int:
    rules = policy.PRESETS["2020-22"]
    version = PolicyVersion(
        code=f"2020.{new_id()[:2]}",
        scheme=rules.scheme,
        rules=policy.rules_to_json(rules),
        status="published",
        created_at=NOW,
        published_at=NOW,
        created_by="test",
    )
    session.add(version)
    session.flush()
    return version.id


def job_statuses(session: Session, kind: str) -> list[str]:
    return list(session.scalars(select(jobs.Job.status).where(jobs.Job.kind == kind)))
