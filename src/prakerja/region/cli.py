"""`prakerja regions ...`: sync the decree's regions, show counts, import population files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from prakerja.kit.db import Database
from prakerja.kit.i18n import gettext

app = typer.Typer(
    help="Regions (Kemendagri codes) and population denominators.", no_args_is_help=True
)
COMMANDS = {"regions": app}
err = Console(stderr=True)


def _open_db() -> Database:
    from prakerja.cli import open_db

    database: Database = open_db()
    return database


@app.command("stats")
def stats_command() -> None:
    """Print the number of provinces, kabupaten/kota and kecamatan as JSON."""
    from prakerja.region import service

    with _open_db().transaction() as session:
        typer.echo(json.dumps(service.stats(session)))


@app.command("sync")
def sync_command() -> None:
    """Load the pinned decree's regions into the region table (safe to repeat)."""
    from prakerja.kit.clock import utc_now
    from prakerja.region import service

    with _open_db().transaction() as session:
        counts = service.sync_regions(session, now=utc_now())
    typer.echo(json.dumps(counts))


@app.command("import-population")
def import_population_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: str = typer.Option("", help="Source label; defaults to the file name without suffix."),
    lang: str = typer.Option("id", help="Language of the messages (id or en)."),
) -> None:
    """Import population per region; any bad row loads nothing and exits 1."""
    from prakerja.kit.clock import utc_now
    from prakerja.region import service

    label = source or file.stem
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
    ) as bar:
        task = bar.add_task(label, total=None)
        with _open_db().transaction() as session:
            report = service.import_population(
                session,
                file,
                source=label,
                now=utc_now(),
                progress=lambda step: bar.update(task, description=f"{label}: {step}"),
            )
    errors = [
        {"row": e.row, "code": e.code, "message": gettext(lang, e.message, **dict(e.params))}
        for e in report.errors
    ]
    typer.echo(
        json.dumps(
            {
                "source": report.source,
                "rows": report.rows,
                "loaded": report.loaded,
                "errors": errors,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    raise typer.Exit(0 if report.ok else 1)
