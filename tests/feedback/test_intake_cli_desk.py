"""`prakerja desk import` reports row errors and imports a file only once."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from prakerja.cli import app
from prakerja.settings import get_settings


def test_desk_import_twice_adds_nothing(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", db.url)
    get_settings.cache_clear()
    path = tmp_path / "calls.csv"
    path.write_text(
        "call_id,started_at,note\nk1,2026-03-02T08:00:00Z,akun diblokir\nk2,,kosong\n", "utf-8"
    )
    runner = CliRunner()
    first = runner.invoke(app, ["desk", "import", "--channel", "call", str(path)])
    second = runner.invoke(app, ["desk", "import", "--channel", "call", str(path)])
    get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["created"] == 1
    assert json.loads(first.output)["errors"][0]["row"] == 3
    assert json.loads(second.output) | {"errors": []} == {
        "created": 0,
        "duplicates": 1,
        "errors": [],
    }
