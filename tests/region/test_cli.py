"""`prakerja regions ...` through Typer's test runner, against the test database."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from prakerja.region.cli import app
from prakerja.region.model import RegionPopulation

runner = CliRunner()


def test_stats_prints_the_three_counts(cli_db):
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"provinces": 38, "kabupaten_kota": 514, "kecamatan": 7285}


def test_sync_then_stats_reads_the_table(cli_db):
    assert runner.invoke(app, ["sync"]).exit_code == 0
    result = runner.invoke(app, ["stats"])
    assert json.loads(result.stdout)["kecamatan"] == 7285


def test_import_population_reports_553_rows(cli_db, population_csv):
    result = runner.invoke(app, ["import-population", str(population_csv), "--source", "d24"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["rows"], report["loaded"], report["errors"]) == (553, 553, [])


def test_import_population_with_a_bad_row_exits_1_and_loads_nothing(cli_db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "kode,nama,pria,wanita,total\n11,Aceh,1,2,3\n12,Sumut,x,2,3\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["import-population", str(path), "--lang", "en"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["loaded"] == 0
    assert report["errors"] == [
        {"row": 3, "code": "12", "message": "Not a whole number in column pria"}
    ]
    with cli_db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegionPopulation)) == 0
