"""`prakerja policy ...` (presets, publish a preset) and `prakerja lists import`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from prakerja.kit.db import Database
from prakerja.kit.i18n import gettext

if TYPE_CHECKING:
    from prakerja.registration.service_lists import ListImportReport

app = typer.Typer(help="Versioned programme policy.", no_args_is_help=True)
lists_app = typer.Typer(
    help="Exclusion, priority and other lists, imported from CSV.", no_args_is_help=True
)
COMMANDS = {"policy": app, "lists": lists_app}
err = Console(stderr=True)
CLI_ACTOR = "cli"


def _open_db() -> Database:
    from prakerja.cli import open_db

    db: Database = open_db()
    return db


@app.command("presets")
def presets_command() -> None:
    """Print the built-in presets as JSON."""
    from prakerja.registration import policy

    typer.echo(
        json.dumps(
            {name: policy.rules_to_json(rules) for name, rules in policy.PRESETS.items()}, indent=2
        )
    )


@app.command("publish-preset")
def publish_preset_command(
    name: str = typer.Argument(..., help="Preset name, e.g. 2023+"),
    code: str = typer.Option(..., "--code", help="Version code, e.g. 2023.1"),
) -> None:
    """Create a version from a preset and publish it (audited as 'cli')."""
    from prakerja.kit.clock import utc_now
    from prakerja.kit.errors import DomainError
    from prakerja.registration import service_eligibility as service

    try:
        with _open_db().transaction() as session:
            now = utc_now()
            draft = service.create_draft(session, code=code, preset=name, actor=CLI_ACTOR, now=now)
            version = service.publish(session, version_id=draft.id, actor=CLI_ACTOR, now=now)
            out = {"id": version.id, "code": version.code, "status": version.status}
    except DomainError as exc:
        err.print(f"[red]{exc.code}: {exc.detail}[/red]")
        raise typer.Exit(1) from None
    typer.echo(json.dumps(out))


@lists_app.callback()
def lists_group() -> None:
    """Exclusion, priority and other lists (a group even with one command: `lists import`)."""


def _report_json(report: ListImportReport, lang: str) -> str:
    """The import report as indented JSON, row messages in `lang`."""
    errors = [
        {"row": e.row, "code": e.code, "message": gettext(lang, e.message, **dict(e.params))}
        for e in report.errors
    ]
    out = {"import_id": report.import_id, "kind": report.kind, "source": report.source,
           "rows": report.rows_total, "loaded": report.rows_loaded,
           "already_listed": report.rows_existing, "rejected": report.rows_rejected,
           "errors": errors}  # fmt: skip
    return json.dumps(out, ensure_ascii=False, indent=2)


@lists_app.command("import")
def import_command(
    file: Path = typer.Argument(  # noqa: B008 (typer declares arguments as defaults)
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
    ),
    kind: str = typer.Option(
        ..., "--kind", help="exclusion, priority, student, blacklist, prior_recipient or other_aid"
    ),
    source: str = typer.Option(
        ..., "--source", help='Where the list came from, e.g. "BKN ASN 2024"'
    ),
    lang: str = typer.Option("id", help="Language of the row messages (id or en)."),
) -> None:
    """Import a nik,reason[,kk] CSV; prints the report; exit 1 when any row was rejected."""
    from prakerja.kit.clock import utc_now
    from prakerja.kit.errors import DomainError
    from prakerja.registration import service_lists

    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task(file.name, total=None)
            with _open_db().transaction() as session:
                report = service_lists.import_list(
                    session,
                    path=file,
                    kind=kind,
                    source=source,
                    actor=CLI_ACTOR,
                    now=utc_now(),
                    progress=lambda step: bar.update(task, description=f"{file.name}: {step}"),
                )
    except DomainError as exc:
        err.print(f"[red]{exc.code}: {exc.detail}[/red]")
        raise typer.Exit(2) from None
    typer.echo(_report_json(report, lang))
    raise typer.Exit(1 if report.rows_rejected else 0)
