"""`prakerja partners ...`: create partners, walk them through curation, manage API keys.

Secrets are printed once, at issue; only their encrypted form is stored.
"""

from __future__ import annotations

from typing import Annotated

import typer

from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database
from prakerja.kit.errors import DomainError

app = typer.Typer(help="Training partners and their API keys.", no_args_is_help=True)
COMMANDS = {"partners": app}
ACTOR = "cli"


def _open_db() -> Database:
    from prakerja.cli import open_db

    database: Database = open_db()
    return database


def _fail(exc: DomainError) -> None:
    typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
    raise typer.Exit(1)


@app.callback()
def _partners() -> None:
    """Training partners and their API keys."""


@app.command("create")
def create(
    code: Annotated[str, typer.Option(help="Slug, e.g. skillacademy")],
    name: Annotated[str, typer.Option(help="Display name")],
    kind: Annotated[str, typer.Option(help="platform or provider")] = "platform",
    webhook_url: Annotated[str, typer.Option(help="Where events are POSTed")] = "",
    activate: Annotated[bool, typer.Option(help="Walk every curation step (demo)")] = False,
) -> None:
    """Register a partner (state applied; --activate walks it to active, each step audited)."""
    from prakerja.marketplace import service_partner

    try:
        with _open_db().transaction() as session:
            now = utc_now()
            partner = service_partner.apply(
                session,
                code=code,
                name=name,
                kind=kind,
                webhook_url=webhook_url or None,
                actor=ACTOR,
                now=now,
            )
            if activate:
                for step in ("due_diligence", "assessment", "approved", "active"):
                    service_partner.advance(
                        session, partner_id=partner.id, to=step, actor=ACTOR, now=now
                    )
            typer.echo(f"partner {partner.code} id={partner.id} status={partner.status}")
    except DomainError as exc:
        _fail(exc)


@app.command("advance")
def advance(code: str, to: str, note: str = "") -> None:
    """Move a partner one curation step (e.g. due_diligence, assessment, approved, active)."""
    from prakerja.marketplace import service_partner

    try:
        with _open_db().transaction() as session:
            partner = service_partner.partner_by_code(session, code)
            service_partner.advance(
                session, partner_id=partner.id, to=to, actor=ACTOR, note=note, now=utc_now()
            )
            typer.echo(f"partner {code} status={partner.status}")
    except DomainError as exc:
        _fail(exc)


@app.command("issue-key")
def issue_key(code: str) -> None:
    """Issue a new secret (a current one keeps working as `retiring` until revoked)."""
    from prakerja.marketplace import service_partner

    try:
        with _open_db().transaction() as session:
            partner = service_partner.partner_by_code(session, code)
            cred, secret = service_partner.issue_credential(
                session, partner_id=partner.id, actor=ACTOR, now=utc_now()
            )
            typer.echo(f"client_id: {cred.client_id}")
            typer.echo(f"secret:    {secret}")
            typer.echo("Store the secret now: it is not shown again.", err=True)
    except DomainError as exc:
        _fail(exc)


app.command("rotate-key", help="Same as issue-key: the old secret keeps working until revoked.")(
    issue_key
)


@app.command("revoke-key")
def revoke_key(client_id: str) -> None:
    """Revoke a secret at once."""
    from prakerja.marketplace import service_partner

    try:
        with _open_db().transaction() as session:
            cred = service_partner.revoke_credential(
                session, client_id=client_id, actor=ACTOR, now=utc_now()
            )
            typer.echo(f"{cred.client_id} {cred.status}")
    except DomainError as exc:
        _fail(exc)
