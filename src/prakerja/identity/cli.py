"""`prakerja admin ...` (staff accounts) and `prakerja keys ...` (PII vault keys)."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Annotated

import typer

from prakerja.kit.clock import utc_now
from prakerja.kit.db import Database
from prakerja.kit.errors import DomainError

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="PII vault keys.", no_args_is_help=True)
COMMANDS = {"admin": app, "keys": keys_app}


@app.callback()
def _admin() -> None:
    """Staff accounts."""


@keys_app.callback()
def _keys() -> None:
    """PII vault keys."""


def _open_db() -> Database:
    from prakerja.cli import open_db

    database: Database = open_db()
    return database


@app.command("create")
def create_command(
    email: Annotated[str, typer.Option(help="Login email of the staff member.")],
    password: Annotated[
        str,
        typer.Option(
            help="At least 10 characters, not a common one. Asked for (hidden, twice) when not "
            "given: a password on the command line stays in shell history and the process list.",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="PRAKERJA_ADMIN_PASSWORD",
        ),
    ],
    roles: Annotated[
        str,
        typer.Option(help="Comma-separated: admin, operator, finance, agent, analyst, auditor."),
    ] = "admin",
) -> None:
    """Create a staff account and print its TOTP provisioning URI and secret (shown once)."""
    from prakerja.identity import service, vault
    from prakerja.kit import audit

    try:
        with _open_db().transaction() as session:
            now = utc_now()
            account, uri = service.create_staff(
                session, email=email, password=password, roles=roles.split(","), now=now
            )
            audit.record(
                session,
                actor="cli",
                action="staff.create",
                target=f"account:{account.public_id}",
                data={"roles": account.roles},
                now=now,
            )
            secret = vault.decrypt_text(account.totp_secret_enc or b"")
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        json.dumps(
            {
                "account_id": account.id,
                "email": account.email,
                "roles": account.role_list,
                "totp_uri": uri,
                "totp_secret": secret,
            }
        )
    )


@keys_app.command("new")
def new_key_command(
    kid: Annotated[str, typer.Option(help="Key id (default: k + date).")] = "",
) -> None:
    """Print a fresh 'kid:base64' AES-256 key; put it FIRST in PRAKERJA_PII_KEYS to activate."""
    kid = kid or f"k{utc_now():%Y%m%d%H%M}"
    typer.echo(f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}")


@keys_app.command("rotate")
def rotate_command(batch: Annotated[int, typer.Option(min=1)] = 1000) -> None:
    """Re-encrypt every vault value under the active (first) key; safe to re-run."""
    from prakerja.identity import vault
    from prakerja.settings import get_settings

    kid = next(iter(get_settings().pii_keyring()))
    with _open_db().transaction() as session:
        count = vault.rotate(session, now=utc_now(), batch=batch)
    typer.echo(json.dumps({"active_key": kid, "reencrypted": count}))


@app.command("totp")
def totp_command(
    email: Annotated[str, typer.Argument(help="Login email of the staff member.")],
) -> None:
    """Print a staff member's current TOTP code (operators' break-glass; audited as a reveal)."""
    import pyotp
    from sqlalchemy import select

    from prakerja.identity import vault
    from prakerja.identity.model import STAFF, Account

    with _open_db().transaction() as session:
        account = session.scalar(
            select(Account).where(Account.email == email.strip().lower(), Account.kind == STAFF)
        )
        if account is None or account.totp_secret_enc is None:
            typer.echo(json.dumps({"error": "no staff account with TOTP for that email"}))
            raise typer.Exit(1)
        secret = vault.reveal_text(
            session,
            blob=account.totp_secret_enc,
            actor="cli",
            purpose="totp code for login",
            target=f"account:{account.id}",
            now=utc_now(),
        )
    typer.echo(pyotp.TOTP(secret).now())
