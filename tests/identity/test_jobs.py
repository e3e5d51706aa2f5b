"""The daily identity purge: old codes, failures and ended sessions go; anything live stays."""

import datetime as dt
import uuid

from sqlalchemy import func, select

from prakerja.identity import jobs as identity_jobs
from prakerja.identity.model import (
    Account,
    LoginChallenge,
    LoginFailure,
    PhoneChallenge,
    WebSession,
)
from prakerja.kit import jobs
from prakerja.kit.clock import utc_now

DAY = dt.timedelta(days=1)


def account(s, now):
    row = Account(
        public_id=uuid.uuid4().hex,
        email=f"{uuid.uuid4().hex[:8]}@example.id",
        password_hash="x",
        kind="citizen",
        roles="",
        status="active",
        language="id",
        failed_logins=0,
        created_at=now - 400 * DAY,
    )
    s.add(row)
    s.flush()
    return row.id


def seed(s, now):
    """Rows just past and just inside the 30-day retention, tagged by a readable marker."""
    acc = account(s, now)
    old, recent = now - 31 * DAY, now - 29 * DAY
    for tag, expires in (("old", old), ("recent", recent)):
        s.add(
            LoginChallenge(
                public_id=f"{tag}-{uuid.uuid4().hex}",
                account_id=acc,
                code_hash="h",
                status="dead",
                attempts=0,
                resends=0,
                ip="",
                expires_at=expires,
                created_at=expires - dt.timedelta(minutes=10),
            )
        )
        s.add(LoginFailure(email_key=tag, ip="10.0.0.1", at=expires))
    for phone, expires, locked in (
        ("+62811old", old, None),
        ("+62811new", recent, None),
        ("+62811lock", old, now + DAY),
    ):  # a lock still in force
        s.add(
            PhoneChallenge(
                account_id=acc,
                phone=phone,
                code_hash="h",
                status="dead",
                attempts=3,
                locked_until=locked,
                expires_at=expires,
                created_at=expires,
            )
        )
    sessions = {
        "revoked_old": (old, old),
        "revoked_recent": (old, recent),
        "idle_old": (old - DAY, None),
        "idle_recent": (recent, None),
        "live": (now, None),
    }
    for tag, (seen, revoked) in sessions.items():
        s.add(
            WebSession(
                token_hash=tag,
                account_id=acc,
                ip="",
                created_at=seen - DAY,
                last_seen_at=seen,
                revoked_at=revoked,
            )
        )
    s.flush()


def survivors(s):
    return {
        "login_challenge": sorted(
            c.split("-")[0] for c in s.scalars(select(LoginChallenge.public_id))
        ),
        "login_failure": sorted(s.scalars(select(LoginFailure.email_key))),
        "phone_challenge": sorted(s.scalars(select(PhoneChallenge.phone))),
        "web_session": sorted(s.scalars(select(WebSession.token_hash))),
    }


def test_the_purge_deletes_only_what_ended_more_than_30_days_ago(db):
    now = dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.UTC)
    with db.transaction() as s:
        seed(s, now)
    with db.transaction() as s:
        counts = identity_jobs.purge_expired(s, now=now)
    assert counts == {
        "login_challenge": 1,
        "phone_challenge": 1,
        "login_failure": 1,
        "web_session": 2,
    }
    with db.transaction() as s:
        assert survivors(s) == {
            "login_challenge": ["recent"],
            "login_failure": ["recent"],
            "phone_challenge": ["+62811lock", "+62811new"],
            "web_session": ["idle_recent", "live", "revoked_recent"],
        }
        assert s.scalar(select(func.count()).select_from(Account)) == 1
    with db.transaction() as s:  # a second run finds nothing more
        assert set(identity_jobs.purge_expired(s, now=now).values()) == {0}


def test_the_purge_is_scheduled_daily_and_runs_as_a_job(db):
    assert jobs.SCHEDULE[identity_jobs.PURGE][0] == 3
    now = utc_now()
    with db.transaction() as s:
        seed(s, now)
    # yesterday 19:00 Jakarta: in the past whatever the hour the suite runs (today's noon UTC
    # is still ahead before 12:00 UTC, and a job due then would not run yet)
    yesterday = now.date() - dt.timedelta(days=1)
    local_noon = dt.datetime.combine(yesterday, dt.time(12), tzinfo=dt.UTC)
    jobs.tick(db, local_noon)
    jobs.tick(db, local_noon + dt.timedelta(hours=1))  # the same Jakarta day: not again
    with db.transaction() as s:
        kinds = list(s.scalars(select(jobs.Job.kind).where(jobs.Job.kind == identity_jobs.PURGE)))
    assert kinds == [identity_jobs.PURGE]
    jobs.run_until_idle(db)  # other contexts' daily jobs run too; only ours is checked
    with db.transaction() as s:
        assert survivors(s)["web_session"] == ["idle_recent", "live", "revoked_recent"]
        status = s.scalar(select(jobs.Job.status).where(jobs.Job.kind == identity_jobs.PURGE))
        assert status == jobs.DONE
