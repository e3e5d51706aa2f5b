"""The evaluation export and the `prakerja waves` commands, end to end on both backends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from prakerja.cli import app as cli
from prakerja.selection import export
from prakerja.settings import get_settings
from tests.selection.wave_factories import add_person

runner = CliRunner()


@pytest.fixture(autouse=True)
def _settings(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    monkeypatch.setattr(get_settings(), "database_url", db.url)


def _cli(*args: str) -> dict:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_operators_run_a_wave_from_the_cli_and_export_a_pseudonymised_pool(db, tmp_path):
    now = dt.datetime.now(dt.UTC)
    opens, closes = (now - dt.timedelta(hours=1)).isoformat(), (now + dt.timedelta(days=2))
    assert (
        _cli(
            "waves",
            "plan",
            "--code",
            "CLI-1",
            "--name",
            "Gelombang CLI",
            "--opens",
            opens,
            "--closes",
            closes.isoformat(),
            "--places",
            "2",
            "--regions",
            "32.01,32.02",
        )["status"]
        == "planned"
    )
    _cli("waves", "commit", "CLI-1")
    _cli("waves", "open", "CLI-1")
    from prakerja.selection import service

    with db.transaction() as s:
        wave = service.wave_by_code(s, "CLI-1")
        for i in range(5):
            p = add_person(s, regency="32.01" if i % 2 else "32.02")
            service.join_wave(s, account_id=p.account_id, wave_id=wave.id, consent=True, now=now)
    for step in ("close", "screen", "draw"):
        assert _cli("waves", step, "CLI-1")["ok"]
    refused = runner.invoke(cli, ["waves", "draw", "CLI-1"])
    assert refused.exit_code == 1
    assert "selection.wrong_wave_status" in refused.stdout
    out = _cli("selection", "export", "--wave", "CLI-1", "--out", str(tmp_path / "x"))
    frame = pl.read_parquet(out["parquet"])
    assert frame.height == 5
    assert frame["selected"].sum() == 2
    assert set(frame.columns) >= {
        "pseudonym",
        "regency_code",
        "province_code",
        "sex",
        "age_band",
        "disability",
        "migrant_status",
        "village_type",
        "outcome",
        "rank",
    }
    assert "person_id" not in frame.columns
    assert frame["pseudonym"].str.len_chars().min() == 32
    assert pl.read_csv(out["csv"]).height == 5
    assert [
        w["code"]
        for w in map(json.loads, runner.invoke(cli, ["waves", "list"]).stdout.splitlines())
    ] == ["CLI-1"]
    verify = runner.invoke(
        cli,
        [
            "selection",
            "verify",
            "--pool",
            str(tmp_path / "waves" / "CLI-1" / "pool.bin"),
            "--params",
            str(tmp_path / "waves" / "CLI-1" / "params.json"),
        ],
    )
    assert verify.exit_code == 0
    assert json.loads(verify.stdout)["ok"] is True


def test_age_bands_are_five_years_wide():
    on = dt.date(2026, 3, 1)
    assert export.age_band(dt.date(2008, 3, 1), on) == "18-22"
    assert export.age_band(dt.date(2003, 3, 2), on) == "18-22"
    assert export.age_band(dt.date(2003, 3, 1), on) == "23-27"
    assert export.age_band(dt.date(2010, 1, 1), on) == "under-18"
    assert export.age_band(None, on) == "unknown"


def test_waves_plan_reads_times_without_an_offset_as_wib_like_the_planning_page(db):
    _cli(
        "waves", "plan", "--code", "WIB-1", "--name", "Gelombang WIB",
        "--opens", "2027-01-04T09:00", "--closes", "2027-01-06T08:00:00+00:00",
        "--places", "2",
    )  # fmt: skip
    from prakerja.selection import service

    with db.transaction() as s:
        wave = service.wave_by_code(s, "WIB-1")
        opens, closes = wave.opens_at, wave.closes_at
    as_utc = [t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in (opens, closes)]
    assert as_utc == [
        dt.datetime(2027, 1, 4, 2, 0, tzinfo=dt.UTC),  # 09:00 WIB
        dt.datetime(2027, 1, 6, 8, 0, tzinfo=dt.UTC),  # an explicit offset is kept
    ]


def test_waves_plan_refuses_a_time_it_cannot_read_and_plans_nothing(db):
    result = runner.invoke(
        cli,
        ["waves", "plan", "--code", "BAD-1", "--name", "x", "--opens", "besok pagi",
         "--closes", "2027-01-06T08:00", "--places", "2"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not an ISO time" in result.output
    from prakerja.kit.errors import DomainError
    from prakerja.selection import service

    with db.transaction() as s, pytest.raises(DomainError):
        service.wave_by_code(s, "BAD-1")
