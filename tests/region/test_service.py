"""Region sync and population import, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from prakerja.region import service
from prakerja.region.model import Region, RegionPopulation

NOW = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_sync_loads_38_provinces_514_regencies_7285_districts(db):
    with db.transaction() as s:
        counts = service.sync_regions(s, now=NOW)
    assert counts["provinces"] == 38
    assert counts["kabupaten_kota"] == 514
    assert counts["kecamatan"] == 7285
    assert counts["retired"] == 26
    with db.transaction() as s:
        assert service.stats(s) == {"provinces": 38, "kabupaten_kota": 514, "kecamatan": 7285}
        merauke = s.get(Region, "91.01")
        assert merauke is not None
        assert merauke.retired
        assert merauke.parent_code == "91"
        depok = s.get(Region, "32.76")
        assert depok is not None
        assert (depok.type, depok.level, depok.retired) == ("kota", 2, False)


def test_sync_twice_changes_nothing_and_repairs_edits(db):
    with db.transaction() as s:
        service.sync_regions(s, now=NOW)
        s.get(Region, "32.76").name = "Wrong"  # type: ignore[union-attr]
        s.add(Region(code="32.99", name="Gone", level=2, parent_code="32", type="kabupaten"))
    with db.transaction() as s:
        service.sync_regions(s, now=NOW)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Region)) == 38 + 514 + 7285 + 26 + 1
        assert s.get(Region, "32.76").name == "Kota Depok"  # type: ignore[union-attr]
        assert s.get(Region, "32.99").retired  # type: ignore[union-attr]
        assert service.stats(s)["kabupaten_kota"] == 514


def test_stats_of_an_empty_table_come_from_the_package(db):
    with db.transaction() as s:
        assert service.stats(s) == {"provinces": 38, "kabupaten_kota": 514, "kecamatan": 7285}


def test_import_of_the_dukcapil_file_loads_553_rows_and_is_idempotent(db, population_csv):
    for _ in range(2):
        with db.transaction() as s:
            report = service.import_population(s, population_csv, source="dukcapil_2024s2", now=NOW)
        assert report.ok
        assert (report.rows, report.loaded) == (553, 553)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegionPopulation)) == 553
        national = s.scalar(select(RegionPopulation).where(RegionPopulation.code == "0"))
        assert national is not None
        assert national.total == 284_973_643
        assert national.imported_at == NOW
        provinces = s.scalar(
            select(func.sum(RegionPopulation.total)).where(func.length(RegionPopulation.code) == 2)
        )
        assert provinces == national.total


def _copy_with(tmp_path: Path, source: Path, line: int, new: str) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = new
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_file_with_one_bad_row_loads_nothing_and_names_the_row(db, population_csv, tmp_path):
    bad = _copy_with(tmp_path, population_csv, 4, "11.01,Kabupaten Aceh Selatan,120041,119588,1")
    with db.transaction() as s:
        report = service.import_population(s, bad, source="bad", now=NOW)
    assert report.loaded == 0
    assert [(e.row, e.code) for e in report.errors] == [(4, "11.01")]
    assert report.errors[0].message == "pria + wanita does not equal total"
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegionPopulation)) == 0


def test_a_file_missing_a_column_loads_nothing(db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("kode,nama,pria,wanita\n11,Aceh,1,2\n", encoding="utf-8")
    with db.transaction() as s:
        report = service.import_population(s, path, source="x", now=NOW)
    assert not report.ok
    assert report.loaded == 0
    assert report.errors[0].params == (("column", "total"),)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegionPopulation)) == 0


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("kode,nama,pria,wanita,total\n11,Ac\xe9h,1,2,3\n".encode("latin-1"), "not UTF-8"),
        (b"kode,nama,pria,wanita,total\n11," + b"x" * 200_000 + b",1,2,3\n", "not a readable CSV"),
    ],
)
def test_a_file_that_is_not_utf8_csv_is_reported_not_raised(db, tmp_path, content, said):
    path = tmp_path / "p.csv"
    path.write_bytes(content)
    with db.transaction() as s:
        report = service.import_population(s, path, source="x", now=NOW)
    assert not report.ok
    assert report.loaded == 0
    assert said in report.errors[0].message
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegionPopulation)) == 0


def test_a_second_source_keeps_the_first(db, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("kode,nama,pria,wanita,total\n11,Aceh,1,2,3\n", encoding="utf-8")
    with db.transaction() as s:
        assert service.import_population(s, path, source="a", now=NOW).loaded == 1
        assert service.import_population(s, path, source="b", now=NOW).loaded == 1
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(RegionPopulation)) == 2
