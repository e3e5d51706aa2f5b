"""Jobs: idempotent enqueue, backoff, crash recovery, and SKIP LOCKED claiming on PostgreSQL."""

import datetime as dt
import threading

import pytest

from prakerja.kit import jobs
from prakerja.kit.db import is_postgres

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _handled(monkeypatch):
    """A worker claims only the kinds it has handlers for: this one handles "x.y"."""
    monkeypatch.setitem(jobs.HANDLERS, "x.y", lambda session, payload, now: None)


def test_enqueue_with_a_key_happens_once(session):
    assert jobs.enqueue(session, "x.y", {}, key="k1", now=NOW) is not None
    assert jobs.enqueue(session, "x.y", {}, key="k1", now=NOW) is None
    assert jobs.counts(session) == {"queued": 1}


def test_backoff_grows_and_is_capped():
    assert [jobs.backoff(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert jobs.backoff(30).total_seconds() == 3600


def test_a_crashed_worker_lease_is_reclaimed(session):
    jobs.enqueue(session, "x.y", {}, now=NOW)
    assert len(jobs.claim(session, NOW)) == 1
    assert jobs.claim(session, NOW + dt.timedelta(minutes=1)) == []
    assert len(jobs.claim(session, NOW + jobs.LEASE + dt.timedelta(seconds=1))) == 1


def test_two_workers_never_claim_the_same_job(db):
    with db.transaction() as s:
        if not is_postgres(s):
            pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs a single worker")
        jobs.enqueue_many(s, "x.y", ({"n": i} for i in range(200)), now=NOW)
    claimed: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def worker(slot):
        barrier.wait()
        for _ in range(30):
            with db.transaction() as s:
                claimed[slot].extend(j.id for j in jobs.claim(s, NOW, limit=5))

    threads = [threading.Thread(target=worker, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = claimed[0] + claimed[1]
    assert len(both) == len(set(both)) == 200
    assert claimed[0]
    assert claimed[1]


def test_scheduled_jobs_are_enqueued_once_per_jakarta_day(db):
    jobs.every_day("test.daily", hour=6)

    def daily():
        with db.transaction() as s:
            return [j.payload for j in s.query(jobs.Job).filter_by(kind="test.daily")]

    try:
        jobs.tick(db, dt.datetime(2026, 11, 27, 22, 0, tzinfo=dt.UTC))  # 05:00 in Jakarta
        assert daily() == []
        later = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)  # 07:00 in Jakarta
        jobs.tick(db, later)
        jobs.tick(db, later + dt.timedelta(hours=3))
        assert daily() == [{"today": "2026-11-28"}]
    finally:
        jobs.SCHEDULE.pop("test.daily")


def test_a_job_nobody_handles_yet_waits_queued_and_runs_once_a_handler_exists(db, monkeypatch):
    """A later context's job (its consumer not deployed) is neither run nor failed to death:
    it waits, the operators' page lists it, and the first worker with a handler runs it."""
    with db.transaction() as s:
        later = jobs.enqueue(s, "later.context", {"n": 1}, now=NOW)
        mine = jobs.enqueue(s, "x.y", {"n": 2}, now=NOW)
    assert jobs.run_until_idle(db) == 1
    with db.transaction() as s:
        waiting, done = s.get(jobs.Job, later), s.get(jobs.Job, mine)
        assert (waiting.status, waiting.attempts, waiting.last_error) == ("queued", 0, None)
        assert done.status == "done"
        assert jobs.awaiting_handler(s) == {"later.context": 1}
    ran = []
    monkeypatch.setitem(jobs.HANDLERS, "later.context", lambda s, p, now: ran.append(p["n"]))
    assert jobs.run_until_idle(db) == 1
    assert ran == [1]
    with db.transaction() as s:
        assert s.get(jobs.Job, later).status == "done"
        assert jobs.awaiting_handler(s) == {}


def test_a_handler_that_runs_long_holds_its_job_for_its_own_lease(session, monkeypatch):
    """The policy diff asks for two hours: no other worker takes it over after five minutes."""
    from prakerja.registration import jobs as registration_jobs  # noqa: F401 (registers it)

    jobs.enqueue(session, "registration.policy_diff", {"run_id": 0}, now=NOW)
    jobs.enqueue(session, "x.y", {}, now=NOW)
    claimed = {j.kind: j.locked_until for j in jobs.claim(session, NOW)}
    assert claimed["x.y"] == NOW + jobs.LEASE
    assert claimed["registration.policy_diff"] == NOW + dt.timedelta(hours=2)
    later = NOW + jobs.LEASE + dt.timedelta(seconds=1)
    assert [j.kind for j in jobs.claim(session, later)] == ["x.y"]  # only the short lease ran out
