"""Sent notifications are deleted 30 days after sending; nothing else is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from prakerja.kit import jobs, notify
from prakerja.kit.clock import utc_now
from prakerja.kit.notify import Notification

NOW = dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _seed(session, now: dt.datetime) -> None:
    """Four SMS: sent 31 and 29 days ago, queued 40 days ago (never sent), sent just now."""
    for body, queued_at, sent_at in (
        ("old", now - 32 * DAY, now - 31 * DAY),
        ("recent", now - 29 * DAY, now - 29 * DAY),
        ("unsent", now - 40 * DAY, None),
        ("today", now, now),
    ):
        note_id = notify.send_sms(session, to="+6281100000001", body=body, now=queued_at)
        if sent_at is not None:
            session.execute(
                update(Notification)
                .where(Notification.id == note_id)
                .values(status="sent", sent_at=sent_at)
            )


def test_only_what_was_sent_more_than_30_days_ago_is_deleted(db):
    with db.transaction() as s:
        _seed(s, NOW)
    with db.transaction() as s:
        assert notify.purge_sent(s, now=NOW) == 1
    with db.transaction() as s:
        assert sorted(s.scalars(select(Notification.body))) == ["recent", "today", "unsent"]
        assert notify.purge_sent(s, now=NOW) == 0  # a second run finds nothing more


def test_the_purge_is_scheduled_daily_and_runs_as_a_job(db):
    assert jobs.SCHEDULE[notify.PURGE][0] == 3  # 03:00 in Jakarta
    now = utc_now()  # the worker runs the job at the time it runs
    with db.transaction() as s:
        _seed(s, now)
        jobs.enqueue(s, notify.PURGE, {}, now=now)
    with db.transaction() as s:  # the seeded SMS are not to be delivered in this test
        s.execute(update(jobs.Job).where(jobs.Job.kind == "notify.deliver").values(status="done"))
    jobs.run_until_idle(db)
    with db.transaction() as s:
        assert sorted(s.scalars(select(Notification.body))) == ["recent", "today", "unsent"]
