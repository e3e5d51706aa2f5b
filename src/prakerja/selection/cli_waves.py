"""`prakerja waves ...`: plan, open, commit, close, screen, draw, announce, list, export.

Each command runs in one transaction (committed on success) and shows a Rich spinner while the
long steps (screen, draw) run.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from prakerja.kit.clock import from_wib, utc_now
from prakerja.kit.db import Database
from prakerja.kit.errors import DomainError

app = typer.Typer(
    help="Operate waves: plan, open, close, screen, draw, announce, export.", no_args_is_help=True
)
COMMANDS = {"waves": app}
console = Console(stderr=True)
ACTOR = "cli"


def _db() -> Database:
    from prakerja.cli import open_db

    db: Database = open_db()
    return db


def _when(text: str) -> dt.datetime:
    """An ISO time as operators type it: Jakarta time (WIB) unless it carries an offset, the
    same reading as the wave planning page."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO time; write e.g. 2026-12-15T09:00 (WIB) or "
            "2026-12-15T02:00+00:00"
        ) from None
    return from_wib(value)


def _fail(exc: DomainError) -> None:
    typer.echo(json.dumps({"ok": False, "code": exc.code, "detail": exc.detail}))
    raise typer.Exit(1)


@app.command()
def plan(
    code: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    opens: Annotated[
        dt.datetime,
        typer.Option(parser=_when, metavar="TIME", help="ISO time; WIB unless it has an offset"),
    ],
    closes: Annotated[
        dt.datetime,
        typer.Option(parser=_when, metavar="TIME", help="ISO time; WIB unless it has an offset"),
    ],
    places: Annotated[int, typer.Option(min=1)],
    regions: Annotated[str, typer.Option(help="Comma-separated codes; empty = all")] = "",
    minimum: Annotated[int, typer.Option(min=0)] = 0,
    priority_quota: Annotated[int, typer.Option(min=0)] = 0,
    indicator_csv: Annotated[Path | None, typer.Option(help="CSV: code + column")] = None,
    column: Annotated[str, typer.Option()] = "population",
) -> None:
    """Plan a wave; quotas split by the indicator CSV (or equally)."""
    from prakerja.selection import service
    from prakerja.selection.quota import read_indicator_csv

    quota: dict[str, object] = {"minimum": minimum, "priority_quota": priority_quota}
    try:
        if indicator_csv is not None:
            values = read_indicator_csv(indicator_csv.read_text(encoding="utf-8"), column)
            quota.update(indicators={column: values}, weights_source=f"csv:{column}")
        with _db().transaction() as s:
            wave = service.plan_wave(
                s,
                plan=service.WavePlan(
                    code=code,
                    name=name,
                    opens_at=opens,
                    closes_at=closes,
                    total_quota=places,
                    quota=quota,
                    regions_open=[c.strip() for c in regions.split(",") if c.strip()] or None,
                ),
                actor=ACTOR,
                now=utc_now(),
            )
            typer.echo(json.dumps({"ok": True, "code": wave.code, "status": wave.status}))
    except DomainError as exc:
        _fail(exc)


def _act(code: str, action: str) -> None:
    from prakerja.selection import service_ops

    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            progress.add_task(f"{action} {code}", total=None)
            with _db().transaction() as s:
                result = service_ops.run_action(
                    s, code=code, action=action, actor=ACTOR, now=utc_now()
                )
    except DomainError as exc:
        _fail(exc)
    typer.echo(json.dumps({"ok": True, "code": code, "action": action, **result}, default=str))


@app.command("open")
def open_(code: str) -> None:
    """planned -> open."""
    _act(code, "open")


@app.command()
def commit(code: str) -> None:
    """Publish the seed commitment (before the wave closes)."""
    _act(code, "commit")


@app.command()
def close(code: str) -> None:
    """open -> closed."""
    _act(code, "close")


@app.command()
def screen(code: str) -> None:
    """closed -> screening: eligibility for every application."""
    _act(code, "screen")


@app.command()
def draw(code: str) -> None:
    """screening -> drawn: publish pool + params, draw, persist, enqueue card issuance."""
    _act(code, "draw")


@app.command()
def run(code: str) -> None:
    """closed -> drawn in one step: screen and draw a national wave with one bulk write."""
    _act(code, "run")


@app.command()
def announce(code: str) -> None:
    """drawn -> announced: one announcement job per applicant."""
    _act(code, "announce")


@app.command("list")
def list_() -> None:
    """Every wave, one JSON line each."""
    from prakerja.selection import service

    with _db().transaction() as s:
        for w in service.list_waves(s):
            typer.echo(
                json.dumps(
                    {
                        "code": w.code,
                        "name": w.name,
                        "status": w.status,
                        "places": w.total_quota,
                        "winners": w.winners,
                    }
                )
            )


@app.command()
def export(
    wave: Annotated[str, typer.Option("--wave")], out: Annotated[Path, typer.Option()]
) -> None:
    """Evaluation export (Parquet + CSV) of a drawn wave's screened pool."""
    from prakerja.selection import export as exporter

    try:
        with _db().transaction() as s:
            paths = exporter.export_wave(s, code=wave, out=out)
    except DomainError as exc:
        _fail(exc)
    typer.echo(json.dumps({"ok": True, **{k: str(v) for k, v in paths.items()}}))


def _also_under_selection() -> None:
    """`prakerja selection export` is the same command (the selection app lives in cli.py)."""
    from prakerja.selection.cli import app as selection_app

    if not any(c.name == "export" for c in selection_app.registered_commands):
        selection_app.command("export")(export)


_also_under_selection()
