"""Background jobs: a row written in the caller's transaction, claimed by workers.

A job runs at least once, so every handler must be idempotent. Workers claim with
FOR UPDATE SKIP LOCKED on PostgreSQL (any number of workers on any number of machines);
on SQLite run a single worker. Failures retry with exponential backoff; after `max_attempts`
the job is `dead` and shows on the operators' jobs page.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from sqlalchemy import JSON, Index, Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from prakerja.kit.clock import utc_now
from prakerja.kit.db import (
    Base,
    BigId,
    Database,
    UTCDateTime,
    insert_returning,
    skip_locked,
    table_of,
)
from prakerja.kit.logging import scrub_text

log = structlog.get_logger("prakerja.jobs")

Handler = Callable[[Session, dict[str, Any], dt.datetime], None]
HANDLERS: dict[str, Handler] = {}

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"
LEASE = dt.timedelta(minutes=5)
LEASES: dict[str, dt.timedelta] = {}  # kind -> a longer lease than LEASE (`handler(lease=)`)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (Index("ix_job_claim", "status", "run_after"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


def handler(kind: str, *, lease: dt.timedelta = LEASE) -> Callable[[Handler], Handler]:
    """Register a job handler under `context.verb_object`. `lease`: how long a claimed job is
    its worker's before another may take it over (a crash is assumed after that); a handler
    that can run longer than the default five minutes asks for more."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        if lease != LEASE:
            LEASES[kind] = lease
        return fn

    return register


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    now: dt.datetime | None = None,
    run_after: dt.datetime | None = None,
    key: str | None = None,
    max_attempts: int = 8,
) -> int | None:
    """Add a job in the caller's transaction; its id. With `key`, a second enqueue of the same
    key is a no-op (returns None), so a retried caller never doubles work; a concurrent twin
    waits for the first and then does nothing."""
    now = now or utc_now()
    row = {
        "kind": kind,
        "payload": payload,
        "status": QUEUED,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": run_after or now,
        "dedupe_key": key,
        "created_at": now,
    }
    # a Core insert: the unit of work's flush cost more than a millisecond per job
    stmt = insert_returning(
        table_of(Job), session.get_bind().dialect.name, unless=None if key is None else "dedupe_key"
    )
    found = session.scalar(stmt, row)
    return None if found is None else int(found)


def enqueue_many(
    session: Session,
    kind: str,
    payloads: Iterable[dict[str, Any]],
    *,
    now: dt.datetime | None = None,
) -> int:
    """Add many jobs of one kind in one statement (set-based; no per-row round trips)."""
    now = now or utc_now()
    rows = [
        {
            "kind": kind,
            "payload": p,
            "status": QUEUED,
            "attempts": 0,
            "max_attempts": 8,
            "run_after": now,
            "created_at": now,
        }
        for p in payloads
    ]
    if rows:
        session.execute(table_of(Job).insert(), rows)
    return len(rows)


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff: 10 s, 20 s, 40 s ... capped at one hour."""
    return dt.timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))


def claim(session: Session, now: dt.datetime, limit: int = 20) -> list[Job]:
    """Lease up to `limit` due jobs (queued, or running with an expired lease after a crash)
    of the kinds this process has handlers for. A job whose consumer is not deployed yet (a
    later context's, such as `payout.incentive_eligible` before the payout context ships) waits
    queued, as a message waits in a queue, instead of failing until it is dead; a worker that
    runs only some contexts claims only their jobs."""
    if not HANDLERS:
        return []
    due = (Job.status == QUEUED) & (Job.run_after <= now)
    stale = (Job.status == RUNNING) & (Job.locked_until < now)
    mine = Job.kind.in_(sorted(HANDLERS))
    stmt = skip_locked(session, select(Job).where(due | stale, mine).order_by(Job.id).limit(limit))
    jobs = list(session.scalars(stmt))
    for job in jobs:
        lease = LEASES.get(job.kind, LEASE)
        job.status, job.attempts, job.locked_until = RUNNING, job.attempts + 1, now + lease
    session.flush()
    return jobs


def _run_one(db: Database, job_id: int, kind: str, payload: dict[str, Any]) -> bool:
    fn = HANDLERS.get(kind)
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {kind!r}")
        with db.transaction() as session:
            fn(session, payload, utc_now())
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status=DONE, finished_at=utc_now(), last_error=None)
            )
        return True
    except Exception as exc:  # a job's failure must never stop the worker
        log.warning("job_failed", job_id=job_id, kind=kind, error=type(exc).__name__)
        _record_failure(db, job_id, exc)
        return False


def _record_failure(db: Database, job_id: int, exc: Exception) -> None:
    with db.transaction() as session:
        job = session.get(Job, job_id)
        if job is None:
            return
        now = utc_now()
        # operators read it on the jobs page: an SMTP or partner error can quote an address
        job.last_error = scrub_text("".join(traceback.format_exception_only(exc)).strip())[:2000]
        job.locked_until = None
        if job.attempts >= job.max_attempts:
            job.status, job.finished_at = DEAD, now
        else:
            job.status, job.run_after = QUEUED, now + backoff(job.attempts)


def run_batch(db: Database, limit: int = 20) -> tuple[int, int]:
    """Claim and run one batch. Returns (succeeded, failed)."""
    with db.transaction() as session:
        claimed = [(j.id, j.kind, dict(j.payload)) for j in claim(session, utc_now(), limit)]
    ok = sum(_run_one(db, *c) for c in claimed)
    return ok, len(claimed) - ok


def run_until_idle(db: Database, max_batches: int = 1000) -> int:
    """Run due jobs until none are left (tests, demo seeding). Returns how many ran."""
    total = 0
    for _ in range(max_batches):
        ok, failed = run_batch(db)
        if ok + failed == 0:
            break
        total += ok + failed
    return total


# Periodic jobs. Each period ("slot") is enqueued once under a dedupe key naming the kind and
# the slot, so any number of workers may tick any number of times.
# Daily: kind -> (Jakarta hour of day, payload builder from the Jakarta date).
SCHEDULE: dict[str, tuple[int, Callable[[dt.date], dict[str, Any]]]] = {}
# Interval: kind -> (minutes, payload builder from the slot's start, UTC).
INTERVALS: dict[str, tuple[int, Callable[[dt.datetime], dict[str, Any]]]] = {}
# How often `work_forever` ticks: well under the shortest interval, so no slot is skipped.
TICK_SECONDS = 30.0


def every_day(
    kind: str,
    hour: int,
    payload: Callable[[dt.date], dict[str, Any]] = lambda d: {"today": d.isoformat()},
) -> None:
    """Run `kind` once per Jakarta day, from `hour` o'clock on."""
    INTERVALS.pop(kind, None)
    SCHEDULE[kind] = (hour, payload)


def every(
    kind: str,
    minutes: int,
    payload: Callable[[dt.datetime], dict[str, Any]] = lambda s: {"slot": s.isoformat()},
) -> None:
    """Run `kind` once per slot of `minutes`; slots are aligned to the clock (5 -> :00, :05 ...).

    Only the current slot is enqueued: after a pause of the workers the job runs once, not once
    per missed slot."""
    if minutes < 1:
        raise ValueError("an interval is at least one minute")
    SCHEDULE.pop(kind, None)
    INTERVALS[kind] = (minutes, payload)


def slot_start(now: dt.datetime, minutes: int) -> dt.datetime:
    """Start (UTC) of the `minutes`-long slot holding `now`, counted from the Unix epoch."""
    seconds = int(now.timestamp())
    return dt.datetime.fromtimestamp(seconds - seconds % (minutes * 60), tz=dt.UTC)


def _due(now: dt.datetime) -> dict[str, tuple[str, dict[str, Any]]]:
    """dedupe key -> (kind, payload) of every scheduled job whose slot holds `now`."""
    from prakerja.kit.clock import JAKARTA

    local = now.astimezone(JAKARTA)
    due = {
        f"schedule:{kind}:{local.date().isoformat()}": (kind, payload(local.date()))
        for kind, (hour, payload) in SCHEDULE.items()
        if local.hour >= hour
    }
    for kind, (minutes, build) in INTERVALS.items():
        start = slot_start(now, minutes)
        due[f"schedule:{kind}:{start:%Y-%m-%dT%H:%MZ}"] = (kind, build(start))
    return due


def tick(db: Database, now: dt.datetime) -> int:
    """Enqueue every scheduled job whose slot has come and is not queued yet; returns how many
    were new. One query finds the slots already taken; each new one is its own transaction."""
    from sqlalchemy.exc import IntegrityError

    due = _due(now)
    if not due:
        return 0
    with db.transaction() as session:
        stmt = select(Job.dedupe_key).where(Job.dedupe_key.in_(list(due)))
        taken = set(session.scalars(stmt))
    added = 0
    for key, (kind, payload) in due.items():
        if key in taken:
            continue
        try:
            with db.transaction() as session:
                added += enqueue(session, kind, payload, now=now, key=key) is not None
        except IntegrityError:  # another worker enqueued it at the same moment
            continue
    return added


def work_forever(
    db: Database, idle_sleep: float = 0.5, should_stop: Callable[[], bool] = lambda: False
) -> None:
    """The worker loop behind `prakerja worker`: a scheduler tick every TICK_SECONDS, then jobs."""
    log.info("worker_started")
    last_tick = -TICK_SECONDS
    while not should_stop():
        if time.monotonic() - last_tick >= TICK_SECONDS:
            tick(db, utc_now())
            last_tick = time.monotonic()
        ok, failed = run_batch(db)
        if ok + failed == 0:
            time.sleep(idle_sleep)


def retry_dead(session: Session, job_id: int, now: dt.datetime) -> None:
    """Operator action: put a dead job back in the queue with a fresh attempt budget."""
    job = session.get(Job, job_id)
    if job is not None and job.status == DEAD:
        job.status, job.attempts, job.run_after, job.finished_at = QUEUED, 0, now, None


def counts(session: Session) -> dict[str, int]:
    """Jobs per status (for the operators' page and health checks)."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {str(status): int(n) for status, n in rows}


def gave_up(session: Session, job_id: int | None) -> bool:
    """True when the job spent its retries (dead): work waiting on it will not be done unless
    someone asks again (a page showing a background run uses this to stop waiting)."""
    return job_id is not None and session.scalar(select(Job.status).where(Job.id == job_id)) == DEAD


def awaiting_handler(session: Session) -> dict[str, int]:
    """Queued jobs per kind that no handler in this process runs (kind -> count): work kept
    for a consumer that is not deployed yet, or a kind no code handles (a bug to look at)."""
    rows = session.execute(
        select(Job.kind, func.count())
        .where(Job.status == QUEUED, Job.kind.not_in(sorted(HANDLERS) or [""]))
        .group_by(Job.kind)
        .order_by(Job.kind)
    )
    return {str(kind): int(n) for kind, n in rows}
