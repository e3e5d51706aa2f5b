"""`prakerja desk ...`: import export files, run the inbound SMTP listener, detect, scan SLAs."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import typer

from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database

app = typer.Typer(help="The citizen-voice desk.", no_args_is_help=True)
COMMANDS = {"desk": app}


def _db() -> Database:
    from prakerja.cli import open_db

    db: Database = open_db()
    return db


@app.command("import")
def import_(file: Path, channel: str = typer.Option(..., help="chat | call | social")) -> None:
    """Import a chat, call-note or social export file; prints a JSON report (row errors too)."""
    from prakerja.feedback import connectors

    if not file.is_file():
        raise typer.BadParameter(f"{file}: no such file")
    try:
        connector = connectors.for_file(channel, file.name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    with _db().transaction() as session:
        report = connectors.import_file(session, connector, file.read_bytes(), now=utc_now())
    typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))


@app.command("smtp")
def smtp(port: int = 2525, host: str = "127.0.0.1") -> None:
    """Receive mail for the desk addresses until stopped (SIGINT/SIGTERM)."""
    from prakerja.feedback import smtp_inbound

    controller = smtp_inbound.start(_db(), host=host, port=port)
    typer.echo(f"listening on {host}:{port} for {', '.join(sorted(smtp_inbound.DESK_ADDRESSES))}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


@app.command("detect")
def detect(ratio: float = 3.0, floor: int = 20) -> None:
    """Group near-duplicates of the last day and open incidents for spikes of the last hour."""
    from prakerja.feedback import grouping

    now = utc_now()
    with _db().transaction() as session:
        groups = grouping.regroup(session, now=now)
        opened = grouping.detect(session, now=now, ratio=ratio, floor=floor)
        out = {
            "grouping": groups,
            "incidents_opened": [
                {
                    "id": i.id,
                    "topic": i.topic,
                    "dimension": i.dimension,
                    "value": i.value,
                    "current": i.current_count,
                    "baseline": i.baseline_count,
                }
                for i in opened
            ],
        }
    typer.echo(json.dumps(out))


@app.command("sla")
def sla() -> None:
    """Alert operators about SLA breaches and re-check records linked to open tickets."""
    from prakerja.feedback import jobs as desk_jobs
    from prakerja.feedback import routing

    now = utc_now()
    with _db().transaction() as session:
        out = routing.scan_breaches(session, now=now)
        out["records_rechecked"] = desk_jobs.recheck_links(session, now=now)
    typer.echo(json.dumps(out))


@app.command("export-corrections")
def export_corrections(out: Path) -> None:
    """Write agents' triage corrections as JSON Lines training data (masked text)."""
    from prakerja.feedback.service_ticket import corrections_as_records

    with _db().transaction() as session:
        records = corrections_as_records(session)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    typer.echo(json.dumps({"records": len(records), "file": str(out)}))
