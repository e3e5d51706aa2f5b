"""Learning test helpers: a curated platform and provider with API keys, a course with
sessions, a recipient whose order the platform has confirmed, and signed partner calls."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.db import Database
from prakerja.kit.notify import Notification
from prakerja.learning import signing as cert_signing
from prakerja.marketplace import (
    rules,
    service_catalogue,
    service_order,
    service_partner,
    service_purchase,
)
from prakerja.marketplace.model import Course, CourseSession, Order, Partner
from prakerja.registration.model import Person
from prakerja.wallet import service_card
from tests.fixtures_sim import pointed_at
from tests.marketplace.conftest import signed  # noqa: F401 (the one signed-call helper)

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
_seq = itertools.count(1)
STEPS = ("due_diligence", "assessment", "approved", "active")


@pytest.fixture(scope="session", autouse=True)
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Certificate keys in a throw-away var_dir, never in the working tree."""
    var = tmp_path_factory.mktemp("var")
    with pointed_at(var_dir=str(var)):
        cert_signing.reload()
        yield var
    cert_signing.reload()


@dataclass
class Keys:
    partner_id: int
    client_id: str
    secret: str


@dataclass
class Learner:
    account_id: int
    person_id: int
    card_id: int
    order_id: int
    order_public_id: str
    token: str

    def login(self, client: TestClient) -> TestClient:
        client.cookies.set(COOKIE, self.token)
        return client


@dataclass
class Setup:
    platform_id: int
    provider_id: int
    keys: Keys
    provider_keys: Keys
    course_id: int
    course_public_id: str
    session_ids: list[int]


def make_partner(session: Session, kind: str) -> Partner:
    n = next(_seq)
    partner = service_partner.apply(
        session,
        code=f"{kind[:4]}-l{n}-{uuid.uuid4().hex[:4]}",
        name=f"{kind.title()} Nusantara {n}",
        kind=kind,
        actor="test",
        now=NOW,
    )
    for step in STEPS:
        service_partner.advance(session, partner_id=partner.id, to=step, actor="test", now=NOW)
    return partner


def make_keys(session: Session, partner: Partner) -> Keys:
    cred, secret = service_partner.issue_credential(
        session, partner_id=partner.id, actor="test", now=NOW
    )
    return Keys(partner.id, cred.client_id, secret)


def make_setup(session: Session, *, starts: list[dt.datetime], mode: str = "webinar") -> Setup:
    """A course on sale with one session per start time."""
    platform, provider = make_partner(session, "platform"), make_partner(session, "provider")
    data = rules.CourseInput(
        external_ref=f"lc{next(_seq)}",
        provider_code=provider.code,
        title="Pemasaran Digital untuk UMKM",
        category="Pemasaran",
        mode=mode,
        hours=16,
        price=700_000,
        capacity=None if mode == "self_paced" else 30,  # seated modes need seats
        syllabus="Teori 30%, praktik 70%",
    )
    course, _ = service_catalogue.publish_course(session, platform=platform, data=data, now=NOW)
    service_catalogue.assess_course(
        session, course_id=course.id, approve=True, actor="assessor", now=NOW
    )
    ids = []
    for i, start in enumerate(starts):
        row, _ = service_catalogue.add_session(
            session,
            platform=platform,
            course_public_id=course.public_id,
            external_ref=f"s{i}",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            venue="Jakarta" if mode == "offline" else None,
            now=NOW,
        )
        ids.append(row.id)
    return Setup(
        platform.id,
        provider.id,
        make_keys(session, platform),
        make_keys(session, provider),
        course.id,
        course.public_id,
        ids,
    )


def _sms_code(session: Session, phone: str) -> str:
    note = session.scalar(
        select(Notification)
        .where(Notification.recipient == phone)
        .order_by(Notification.id.desc())
        .limit(1)
    )
    assert note is not None
    match = re.search(r"\b(\d{6})\b", note.body)
    assert match
    return match.group(1)


def make_learner(
    session: Session, setup: Setup, *, name: str = "Budi Santoso", batch: str | None = None
) -> Learner:
    """A recipient with a card who bought the course (in `batch`, when it runs several); the
    platform confirmed the order."""
    phone = f"+62813{uuid.uuid4().int % 10**8:08d}"
    account = Account(
        public_id=uuid.uuid4().hex,
        email=f"l{uuid.uuid4().hex[:10]}@example.id",
        password_hash="x",
        kind="citizen",
        roles="",
        status="active",
        language="id",
        failed_logins=0,
        created_at=NOW,
        email_verified_at=NOW,
        phone=phone,
        phone_verified_at=NOW,
    )
    session.add(account)
    session.flush()
    person = Person(account_id=account.id, full_name=name, created_at=NOW, updated_at=NOW)
    session.add(person)
    session.flush()
    card = service_card.issue_card(
        session,
        application_id=50_000 + account.id,
        person_id=person.id,
        wave_id=1,
        policy_version_id=None,
        now=NOW,
    )
    order = service_purchase.start_purchase(
        session,
        account_id=account.id,
        course_public_id=setup.course_public_id,
        card_number=card.number,
        key=uuid.uuid4().hex,
        now=NOW,
        batch=batch,
    )
    service_purchase.confirm_purchase(
        session,
        account_id=account.id,
        order_public_id=order.public_id,
        code=_sms_code(session, phone),
        now=NOW,
    )
    platform = session.get(Partner, setup.platform_id)
    assert platform is not None
    service_order.confirm_order(session, partner=platform, order_public_id=order.public_id, now=NOW)
    web = open_session(session, account_id=account.id, ip="127.0.0.1", now=dt.datetime.now(dt.UTC))
    return Learner(account.id, person.id, card.id, order.id, order.public_id, web.token)


def attend(
    db: Database, setup: Setup, order: tuple[int, str], session_id: int, at: dt.datetime
) -> None:
    """Commit the session's redeem code at `at`, mark the face check passed and have the
    platform report the attendance (the face vendor is exercised by the API tests). `order`:
    (its id, its public id)."""
    from prakerja.learning import service_attendance
    from prakerja.learning.model import Attendance, RedeemCode

    with db.transaction() as s:
        code = s.scalar(
            select(RedeemCode.code).where(
                RedeemCode.order_id == order[0], RedeemCode.session_id == session_id
            )
        )
        assert code is not None, "no redeem code issued for this session"
        service_attendance.commit_redeem_code(
            s, partner_id=setup.platform_id, session_id=session_id, code=code, now=at
        )
        s.add(
            Attendance(
                order_id=order[0],
                session_id=session_id,
                face_status="pass",
                face_attempts=1,
                created_at=at,
            )
        )
    with db.transaction() as s:
        service_attendance.report_attendance(
            s,
            partner_id=setup.platform_id,
            order_public_id=order[1],
            session_id=session_id,
            method="face",
            attended_at=None,
            now=at,
        )


def order_status(db: Database, order_id: int) -> str:
    with db.transaction() as s:
        order = s.get(Order, order_id)
        assert order is not None
        return order.status


def course_of(session: Session, setup: Setup) -> Course:
    course = session.get(Course, setup.course_id)
    assert course is not None
    return course


def session_row(session: Session, session_id: int) -> CourseSession:
    row = session.get(CourseSession, session_id)
    assert row is not None
    return row
