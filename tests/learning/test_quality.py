"""Course quality rollup and the operators' board."""

from __future__ import annotations

import datetime as dt
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from prakerja.feedback.model import Ticket
from prakerja.identity.model import Account
from prakerja.identity.service_session import COOKIE, open_session
from prakerja.kit.db import Database
from prakerja.learning import service_quality
from prakerja.learning.model import Completion, CourseQuality, Review
from tests.learning.conftest import NOW, make_learner, make_setup


def _seed(db: Database) -> tuple[int, int]:
    """Six enrolments: five completed with gains, one with a complaint ticket."""
    with db.transaction() as s:
        setup = make_setup(s, starts=[])
        learners = [make_learner(s, setup) for _ in range(6)]
        for i, ln in enumerate(learners[:5]):
            s.add(
                Completion(
                    order_id=ln.order_id,
                    course_id=setup.course_id,
                    person_id=ln.person_id,
                    pre_score=40,
                    post_score=60 + i,
                    completed_at=NOW,
                    reported_by=setup.platform_id,
                )
            )
            s.add(
                Review(
                    order_id=ln.order_id,
                    course_id=setup.course_id,
                    person_id=ln.person_id,
                    stars=3 if i < 4 else 2,
                    text="biasa saja",
                    created_at=NOW,
                )
            )
        s.add(
            Ticket(
                public_id=uuid.uuid4().hex,
                channel="web",
                topic="training_purchase",
                record_kind="marketplace.order",
                record_id=learners[5].order_id,
                first_response_due=NOW,
                resolve_due=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        other = make_setup(s, starts=[])
        make_learner(s, other)
        return setup.course_id, other.course_id


def test_the_rollup_measures_rating_completion_gain_and_complaints(db: Database) -> None:
    course_id, other_id = _seed(db)
    with db.transaction() as s:
        assert service_quality.refresh_quality(s, now=NOW) == 2
        assert service_quality.refresh_quality(s, now=NOW) == 2  # a full rebuild, repeatable
    with db.transaction() as s:
        q = s.get(CourseQuality, course_id)
        assert q is not None
        assert (q.enrolments, q.completions, q.reviews, q.complaints) == (6, 5, 5, 1)
        assert q.rating_x100 == 280
        assert q.completion_permille == 833
        assert q.gain_x100 == 2200
        assert q.flags == "low_rating,many_complaints"
        ranking = service_quality.provider_ranking(s)
        assert [r.score for r in ranking] == sorted((r.score for r in ranking), reverse=True)
        assert [(r.enrolments, r.flagged) for r in ranking] == [(6, True), (1, False)]
        assert next(row[0].course_id for row in service_quality.course_board(s)) == course_id
        assert s.scalars(select(CourseQuality).where(CourseQuality.course_id == other_id)).one()


def _staff(db: Database, roles: str) -> str:
    with db.transaction() as s:
        account = Account(
            public_id=uuid.uuid4().hex,
            email=f"op{uuid.uuid4().hex[:6]}@pmo.id",
            password_hash="x",
            kind="staff",
            roles=roles,
            status="active",
            language="id",
            failed_logins=0,
            created_at=NOW,
            email_verified_at=NOW,
        )
        s.add(account)
        s.flush()
        return open_session(
            s, account_id=account.id, ip="127.0.0.1", now=dt.datetime.now(dt.UTC)
        ).token


def test_the_board_is_for_operators_only(client: TestClient, db: Database) -> None:
    _seed(db)
    client.cookies.set(COOKIE, _staff(db, "finance"))
    assert client.get("/admin/quality").status_code == 403
    client.cookies.set(COOKIE, _staff(db, "operator"))
    page = client.get("/admin/quality")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = client.post("/admin/quality/refresh", data={"csrf_token": token})
    assert done.status_code == 200
    assert "⚑" in done.text
    import re

    # numbers as the page's language writes them: a decimal comma in Indonesian
    assert re.search(r"<td>\d,\d\d</td>", done.text)
    assert re.search(r"<td>\d+,\d%</td>", done.text)
    assert not re.search(r"<td>\d\.\d\d</td>", done.text)
    english = client.get("/admin/quality", params={"lang": "en"}).text
    assert re.search(r"<td>\d\.\d\d</td>", english)
