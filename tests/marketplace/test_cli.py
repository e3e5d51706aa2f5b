"""`prakerja partners create|issue-key|rotate-key|revoke-key`."""

import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from prakerja.identity import vault
from prakerja.marketplace.cli import app
from prakerja.marketplace.model import Partner, PartnerCredential
from prakerja.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli_db(db, monkeypatch):
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def _keys(output):
    client = re.search(r"client_id: (\S+)", output).group(1)
    secret = re.search(r"secret:\s+(\S+)", output).group(1)
    return client, secret


def test_keys_are_printed_once_stored_encrypted_and_rotate(cli_db):
    made = runner.invoke(app, ["create", "--code", "skillhub", "--name", "Skill Hub", "--activate"])
    assert made.exit_code == 0, made.output
    first = runner.invoke(app, ["issue-key", "skillhub"])
    assert first.exit_code == 0, first.output
    client_a, secret_a = _keys(first.stdout)
    client_b, _ = _keys(runner.invoke(app, ["rotate-key", "skillhub"]).stdout)
    with cli_db.sessions() as s:
        assert s.scalar(select(Partner.status)) == "active"
        creds = {c.client_id: c for c in s.scalars(select(PartnerCredential))}
        assert vault.decrypt_text(creds[client_a].secret_enc) == secret_a
        assert (creds[client_a].status, creds[client_b].status) == ("retiring", "active")
    third = runner.invoke(app, ["rotate-key", "skillhub"])
    assert third.exit_code == 1
    assert "too_many_credentials" in third.output
    assert runner.invoke(app, ["revoke-key", client_a]).exit_code == 0
    assert runner.invoke(app, ["rotate-key", "skillhub"]).exit_code == 0


def test_an_unknown_partner_exits_non_zero(cli_db):
    result = runner.invoke(app, ["issue-key", "nobody"])
    assert result.exit_code == 1
    assert "partner_not_found" in result.output
