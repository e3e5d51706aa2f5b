"""`prakerja wallet ...` commands."""

from __future__ import annotations

import json

import typer

app = typer.Typer(help="The training wallet and its double-entry ledger.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Verify every ledger invariant; exit 1 naming each violation."""
    from prakerja.cli import open_db
    from prakerja.wallet.check import check_ledger

    with open_db().transaction() as session:
        problems = check_ledger(session)
    for p in problems:
        typer.echo(json.dumps({"rule": p.rule, "subject": p.subject, "detail": p.detail}))
    typer.echo(json.dumps({"ok": not problems, "problems": len(problems)}))
    raise typer.Exit(1 if problems else 0)


COMMANDS = {"wallet": app}
