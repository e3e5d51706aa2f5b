"""The `prakerja` command: serve, worker, db, demo, admin, audit and every context's commands."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from prakerja.contexts import import_all
from prakerja.settings import get_settings

if TYPE_CHECKING:
    from prakerja.kit.db import Database

app = typer.Typer(
    help="Run a Kartu Prakerja-style programme.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


def open_db() -> Database:
    """The configured database, with every table and job handler loaded."""
    import prakerja.models  # noqa: F401 (registers every table on the metadata)
    from prakerja.kit.db import Database

    import_all("jobs")
    return Database(get_settings().database_url)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    with_worker: bool = typer.Option(False, help="Run a job worker inside the web process."),
) -> None:
    """Serve the web app and the APIs."""
    import os

    import uvicorn

    if with_worker:
        os.environ["PRAKERJA_RUN_WORKER_IN_WEB"] = "1"
    uvicorn.run(
        "prakerja.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def worker() -> None:
    """Claim and run background jobs until stopped (SIGINT/SIGTERM)."""
    from prakerja.kit import jobs

    stopping = {"flag": False}

    def stop(*_: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    jobs.work_forever(open_db(), should_stop=lambda: stopping["flag"])


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Create or migrate the schema to the newest revision."""
    from prakerja.kit import migrate

    migrate.upgrade(get_settings().database_url, revision)
    console.print(f"[green]database at {revision}[/green]")


@db_app.command("grant")
def db_grant(
    role: str = typer.Argument(..., help="The role the web and worker processes log in as."),
    dry_run: bool = typer.Option(False, "--print", help="Print the statements, change nothing."),
) -> None:
    """Equip the application's PostgreSQL role (run as the schema's owner after each upgrade):
    read and write, but only add to the audit log and the ledger; it owns `application` and
    its partitions, which wave runs rebuild (docs/operations.md)."""
    from prakerja.kit import privileges
    from prakerja.kit.db import make_engine

    url = get_settings().database_url
    if not url.startswith("postgresql"):
        console.print("[red]db grant is for PostgreSQL; SQLite has no roles[/red]")
        raise typer.Exit(2)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            try:
                done = (privileges.statements if dry_run else privileges.grant)(conn, role)
            except ValueError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
    finally:
        engine.dispose()
    for sql in done:
        typer.echo(sql + ";")
    if not dry_run:
        console.print(f"[green]{role} equipped ({len(done)} statements)[/green]")


@app.command()
def demo(
    serve: bool = typer.Option(True, help="Serve the app after seeding."),
    host: str = "127.0.0.1",
    port: int = 8000,
    population: int = typer.Option(30_000, help="Synthetic residents to generate."),
    citizens: int = typer.Option(3_000, help="Registered demo citizens."),
) -> None:
    """Seed a realistic demo programme into a fresh SQLite database and serve it."""
    from prakerja import demo as demo_module

    # The demo is the one place the dev inbox belongs: a newcomer reads login codes there.
    os.environ["PRAKERJA_DEV_INBOX"] = "1"
    get_settings.cache_clear()
    get_settings()

    demo_module.run(serve=serve, host=host, port=port, population=population, citizens=citizens)


@audit_app.command("verify")
def audit_verify(
    anchor: str = typer.Option(
        "", help="ID:HASH of a head printed by an earlier run and kept outside the database."
    ),
) -> None:
    """Check the whole audit chain; exit 1 naming the first broken link. Keep the printed head
    (head_id:head_hash) somewhere else and pass it as --anchor next time: then deleting the
    newest rows is detected too."""
    from prakerja.kit import audit

    kept = None
    if anchor:
        given_id, _, given_hash = anchor.partition(":")
        if not (given_id.isdigit() and len(given_hash) == 64):
            console.print("[red]--anchor must be ID:HASH (a 64-character hash)[/red]")
            raise typer.Exit(2)
        kept = (int(given_id), given_hash.lower())
    db = open_db()
    with db.transaction() as session:
        report = audit.verify(session, anchor=kept)
    typer.echo(json.dumps(dataclasses.asdict(report)))
    raise typer.Exit(0 if report.ok else 1)


def _register_context_commands() -> None:
    import importlib

    modules = import_all("cli")
    # simulators of outside systems are not a context but ship with the product
    with contextlib.suppress(ModuleNotFoundError):
        modules.append(importlib.import_module("prakerja.sim.cli"))
    for module in modules:
        for name, sub in getattr(module, "COMMANDS", {}).items():
            app.add_typer(sub, name=name)


_register_context_commands()


def main() -> None:
    from pydantic import ValidationError

    try:
        settings = get_settings()
    except ValidationError as exc:  # a wrong PRAKERJA_ variable: say which, no traceback
        for error in exc.errors():
            name = "PRAKERJA_" + "_".join(str(p) for p in error["loc"]).upper()
            where = name if error["loc"] else "settings"
            typer.echo(f"error: {where}: {error['msg']}", err=True)
        raise SystemExit(2) from None
    Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
    app()


if __name__ == "__main__":
    main()
