"""`prakerja cards ...`: trigger the deadline scans, the year-end cut-off, pending issuance."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.progress import Progress
from sqlalchemy import func, select

app = typer.Typer(help="Training cards: issuance and deadlines.", no_args_is_help=True)
CHUNK = 50_000


def _parse_day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use YYYY-MM-DD") from None


@app.command("scan")
def scan(today: Annotated[str | None, typer.Option(help="Jakarta date YYYY-MM-DD")] = None) -> None:
    """Enqueue the reminders, revocations and spend-rest sweeps due today (Jakarta)."""
    from prakerja.cli import open_db
    from prakerja.kit.clock import jakarta_date, utc_now
    from prakerja.wallet import jobs as card_jobs

    now = utc_now()
    day = _parse_day(today) or jakarta_date(now)
    with open_db().transaction() as session:
        counts = card_jobs.scan_deadlines(session, today=day, now=now)
    typer.echo(json.dumps({"today": day.isoformat(), "enqueued": counts}))


@app.command("year-end")
def year_end(year: int) -> None:
    """Enqueue the closing sweep of every active card issued in YEAR or before; refused (exit 2,
    nothing enqueued) until YEAR has ended in Jakarta. The workers also run it daily from
    1 January for the year before."""
    from prakerja.cli import open_db
    from prakerja.kit.clock import utc_now
    from prakerja.kit.errors import DomainError
    from prakerja.wallet import jobs as card_jobs

    try:
        with open_db().transaction() as session:
            count = card_jobs.year_end_cutoff(session, year=year, now=utc_now())
    except DomainError as exc:
        typer.echo(json.dumps({"error": exc.code, "detail": exc.detail}), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps({"year": year, "enqueued": count}))


def _pending_waves(session) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """wave id -> queued issuance jobs (read in Python: payload JSON differs by backend)."""
    from prakerja.kit import jobs

    waves: dict[int, int] = {}
    rows = session.scalars(
        select(jobs.Job.payload).where(
            jobs.Job.kind == "wallet.issue_card", jobs.Job.status == jobs.QUEUED
        )
    )
    for payload in rows:
        wave = payload.get("wave_id") if isinstance(payload, dict) else None
        if isinstance(wave, int):
            waves[wave] = waves.get(wave, 0) + 1
    return waves


@app.command("issue-pending")
def issue_pending(
    chunk: int = CHUNK,
    workers: Annotated[int, typer.Option(help="Connections issuing at once (PostgreSQL)")] = 2,
) -> None:
    """Issue the cards of every queued issuance job, wave by wave: chunks of about CHUNK jobs,
    one transaction each, WORKERS at once on PostgreSQL (a single writer on SQLite)."""
    from prakerja.cli import open_db
    from prakerja.kit import jobs
    from prakerja.kit.clock import utc_now
    from prakerja.wallet import bulk

    db = open_db()
    with db.transaction() as session:
        waves = _pending_waves(session)
    totals = {"issued": 0, "already_done": 0, "left_queued": 0}
    with Progress() as progress:
        task = progress.add_task("issuing cards", total=sum(waves.values()))

        def advance(report: bulk.BulkReport) -> None:
            progress.advance(task, report.issued + report.already_done)

        for wave_id in sorted(waves):
            report = bulk.issue_wave(
                db, wave_id=wave_id, now=utc_now(), workers=workers, chunk=chunk, on_chunk=advance
            )
            totals["issued"] += report.issued
            totals["already_done"] += report.already_done
            totals["left_queued"] += report.left_queued
    with db.transaction() as session:
        queued = session.scalar(
            select(func.count())
            .select_from(jobs.Job)
            .where(jobs.Job.kind == "wallet.issue_card", jobs.Job.status == jobs.QUEUED)
        )
    typer.echo(json.dumps({**totals, "still_queued": int(queued or 0)}))


COMMANDS = {"cards": app}
