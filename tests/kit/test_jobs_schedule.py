"""Scheduled jobs: clock-aligned interval slots, once per slot however often workers tick."""

import datetime as dt

import pytest
from sqlalchemy import select

from prakerja.kit import jobs

T0 = dt.datetime(2026, 11, 28, 8, 3, 20, tzinfo=dt.UTC)  # 15:03:20 in Jakarta


@pytest.fixture
def only(monkeypatch):
    """Tick only the schedules a test registers (other contexts' stay out of its counts)."""
    monkeypatch.setattr(jobs, "SCHEDULE", {})
    monkeypatch.setattr(jobs, "INTERVALS", {})


def payloads(db, kind):
    with db.transaction() as s:
        return list(s.scalars(select(jobs.Job.payload).where(jobs.Job.kind == kind)))


def test_slots_are_aligned_to_the_clock():
    assert jobs.slot_start(T0, 5) == dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
    assert jobs.slot_start(T0, 1) == dt.datetime(2026, 11, 28, 8, 3, tzinfo=dt.UTC)
    assert jobs.slot_start(T0, 60) == dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
    edge = dt.datetime(2026, 11, 28, 8, 5, tzinfo=dt.UTC)
    assert jobs.slot_start(edge, 5) == edge
    assert jobs.slot_start(edge - dt.timedelta(microseconds=1), 5) == T0.replace(minute=0, second=0)
    jakarta = T0.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert jobs.slot_start(jakarta, 5) == jobs.slot_start(T0, 5)


def test_an_interval_is_at_least_a_minute(only):
    with pytest.raises(ValueError, match="at least one minute"):
        jobs.every("test.never", 0)


def test_ticks_in_one_slot_enqueue_once_and_the_next_slot_enqueues_again(db, only):
    jobs.every("test.often", 5)
    assert jobs.tick(db, T0) == 1
    assert jobs.tick(db, T0 + dt.timedelta(seconds=30)) == 0  # a second tick, same slot
    assert jobs.tick(db, T0 + dt.timedelta(minutes=1, seconds=39)) == 0  # 08:04:59
    assert payloads(db, "test.often") == [{"slot": "2026-11-28T08:00:00+00:00"}]
    assert jobs.tick(db, T0 + dt.timedelta(minutes=1, seconds=40)) == 1  # 08:05:00
    assert jobs.tick(db, T0 + dt.timedelta(minutes=4)) == 0
    assert payloads(db, "test.often") == [
        {"slot": "2026-11-28T08:00:00+00:00"},
        {"slot": "2026-11-28T08:05:00+00:00"},
    ]


def test_a_pause_of_the_workers_enqueues_only_the_current_slot(db, only):
    jobs.every("test.often", 5, payload=lambda start: {"at": start.strftime("%H:%M")})
    jobs.tick(db, T0)
    jobs.tick(db, T0 + dt.timedelta(hours=2))
    assert payloads(db, "test.often") == [{"at": "08:00"}, {"at": "10:00"}]


def test_two_workers_ticking_the_same_slot_enqueue_it_once(db, only):
    jobs.every("test.often", 5)
    jobs.every_day("test.daily", hour=6)
    assert jobs.tick(db, T0) == 2
    with db.transaction() as s:  # the other worker's enqueue won the race after our look-up
        jobs.enqueue(s, "test.often", {}, now=T0, key="schedule:test.often:2026-11-28T08:05Z")
    assert jobs.tick(db, T0 + dt.timedelta(minutes=2)) == 0
    assert len(payloads(db, "test.often")) == 2
    assert payloads(db, "test.daily") == [{"today": "2026-11-28"}]


def test_daily_and_interval_schedules_tick_together(db, only):
    jobs.every_day("test.daily", hour=6)
    jobs.every("test.hourly", 60)
    five_am = dt.datetime(2026, 11, 27, 22, 0, tzinfo=dt.UTC)  # 05:00 in Jakarta
    assert jobs.tick(db, five_am) == 1  # the hourly one only
    assert jobs.tick(db, five_am + dt.timedelta(hours=2)) == 2  # 07:00: daily and hourly
    assert jobs.tick(db, five_am + dt.timedelta(hours=2, minutes=30)) == 0
    assert payloads(db, "test.daily") == [{"today": "2026-11-28"}]
    assert len(payloads(db, "test.hourly")) == 2


def test_a_kind_has_one_schedule(only):
    jobs.every_day("test.kind", hour=6)
    jobs.every("test.kind", 10)
    assert "test.kind" not in jobs.SCHEDULE
    assert jobs.INTERVALS["test.kind"][0] == 10
    jobs.every_day("test.kind", hour=6)
    assert "test.kind" not in jobs.INTERVALS


def test_the_desk_checks_run_every_five_minutes_as_jobs(db, monkeypatch):
    from prakerja.feedback import jobs as desk_jobs

    assert jobs.INTERVALS[desk_jobs.DETECT_SPIKES][0] == 5
    assert jobs.INTERVALS[desk_jobs.SCAN_SLA][0] == 5
    desk = {k: v for k, v in jobs.INTERVALS.items() if k.startswith("feedback.")}
    monkeypatch.setattr(jobs, "SCHEDULE", {})
    monkeypatch.setattr(jobs, "INTERVALS", desk)
    assert jobs.tick(db, T0) == len(desk) == 4
    assert jobs.run_until_idle(db) == 4
    with db.transaction() as s:
        assert jobs.counts(s) == {"done": 4}


def test_the_worker_ticks_on_start_and_then_runs_the_scheduled_job(db, only, monkeypatch):
    ran: list[str] = []
    jobs.HANDLERS["test.often"] = lambda session, payload, now: ran.append(payload["slot"])
    monkeypatch.setattr(jobs, "utc_now", lambda: T0)
    jobs.every("test.often", 5)
    loops = iter(range(3))
    try:
        jobs.work_forever(db, idle_sleep=0, should_stop=lambda: next(loops, None) is None)
    finally:
        jobs.HANDLERS.pop("test.often")
    assert ran == ["2026-11-28T08:00:00+00:00"]
