"""`prakerja admin create` and `prakerja keys new|rotate`."""

import base64
import json

import pyotp
from sqlalchemy import select
from typer.testing import CliRunner

from prakerja.identity import vault
from prakerja.identity.cli import app, keys_app
from prakerja.identity.model import Account
from prakerja.kit import audit

runner = CliRunner()


def test_admin_create_prints_a_working_totp_uri_and_secret(cli_db):
    result = runner.invoke(
        app,
        [
            "create",
            "--email",
            "Ops@Example.id",
            "--password",
            "Rahasia-kantor-77",
            "--roles",
            "admin,operator",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["roles"] == ["admin", "operator"]
    assert out["email"] == "ops@example.id"
    assert pyotp.parse_uri(out["totp_uri"]).secret == out["totp_secret"]
    with cli_db.transaction() as s:
        account = s.scalar(select(Account))
        assert account.kind == "staff"
        assert vault.decrypt_text(account.totp_secret_enc) == out["totp_secret"]
        assert s.scalar(select(audit.AuditEntry.action)) == "staff.create"


def test_admin_create_with_a_weak_password_exits_2_and_creates_nothing(cli_db):
    result = runner.invoke(app, ["create", "--email", "ops@example.id", "--password", "short"])
    assert result.exit_code == 2
    with cli_db.transaction() as s:
        assert s.scalar(select(Account)) is None


def test_keys_new_prints_a_usable_32_byte_key():
    result = runner.invoke(keys_app, ["new", "--kid", "k2"])
    kid, _, b64 = result.stdout.strip().partition(":")
    assert kid == "k2"
    assert len(base64.b64decode(b64)) == 32


def test_keys_rotate_reencrypts_under_the_new_first_key(cli_db, set_keys, monkeypatch):
    set_keys("old")
    runner.invoke(app, ["create", "--email", "ops@example.id", "--password", "Rahasia-kantor-77"])
    set_keys("new", "old")
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", cli_db.url)
    result = runner.invoke(keys_app, ["rotate"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"active_key": "new", "reencrypted": 1}
    with cli_db.transaction() as s:
        assert vault.key_id(s.scalar(select(Account.totp_secret_enc))) == "new"


def test_admin_create_asks_for_the_password_hidden_and_twice(cli_db):
    result = runner.invoke(
        app,
        ["create", "--email", "ops@example.id"],
        input="Rahasia-kantor-77\nRahasia-kantor-77\n",
    )
    assert result.exit_code == 0, result.output
    assert "Rahasia-kantor-77" not in result.output  # not echoed
    with cli_db.transaction() as s:
        assert s.scalar(select(Account.email)) == "ops@example.id"


def test_admin_create_with_two_different_passwords_asks_again_and_creates_nothing(cli_db):
    result = runner.invoke(
        app, ["create", "--email", "ops@example.id"], input="Rahasia-kantor-77\nother\n"
    )
    assert result.exit_code != 0
    with cli_db.transaction() as s:
        assert s.scalar(select(Account)) is None
