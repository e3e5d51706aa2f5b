"""`prakerja policy ...` and `prakerja lists import` against the test database."""

import json

import pytest
from typer.testing import CliRunner

from prakerja.registration import cli_policy, policy
from prakerja.registration import service_eligibility as service
from tests.registration.factories_eligibility import nik, write_csv

runner = CliRunner()


@pytest.fixture
def cli_db(db, monkeypatch):
    monkeypatch.setattr(cli_policy, "_open_db", lambda: db)
    return db


def test_presets_prints_both_presets_as_json():
    result = runner.invoke(cli_policy.app, ["presets"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["2023+"] == policy.rules_to_json(policy.PRESETS["2023+"])
    assert data["2020-22"]["training_balance"] == 1_000_000


def test_publish_preset_makes_it_current_and_refuses_a_taken_code(cli_db):
    result = runner.invoke(cli_policy.app, ["publish-preset", "2020-22", "--code", "2020.1"])
    assert result.exit_code == 0, result.output
    with cli_db.transaction() as s:
        version, rules = service.current_policy(s)
    assert version.code == "2020.1"
    assert rules == policy.PRESETS["2020-22"]
    again = runner.invoke(cli_policy.app, ["publish-preset", "2023+", "--code", "2020.1"])
    assert again.exit_code == 1


def test_lists_import_reports_rows_and_exits_1_on_rejections(cli_db, tmp_path):
    path = write_csv(tmp_path / "asn.csv", [f"{nik(1)},ASN", "123,bad"])
    result = runner.invoke(
        cli_policy.lists_app,
        ["import", str(path), "--kind", "exclusion", "--source", "BKN ASN 2024"],
    )
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["loaded"], report["rejected"]) == (1, 1)
    assert report["errors"][0]["row"] == 3
    assert report["errors"][0]["code"] == "nik_length"
    clean = write_csv(tmp_path / "ok.csv", [f"{nik(1)},ASN"])
    again = runner.invoke(
        cli_policy.lists_app,
        ["import", str(clean), "--kind", "exclusion", "--source", "BKN ASN 2024"],
    )
    assert again.exit_code == 0
    assert json.loads(again.stdout)["already_listed"] == 1
