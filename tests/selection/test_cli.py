"""`prakerja selection simulate|verify` as a person runs them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from prakerja.selection.cli import app

runner = CliRunner()


def _simulate(*args: str) -> dict:
    out = runner.invoke(app, ["simulate", "--applicants", "3000", "--workers", "1", *args])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_simulate_prints_one_json_line_and_the_same_seed_gives_the_same_winners():
    first = _simulate("--seed", "11")
    assert first["cells"] == 514
    assert first["places"] == 3000 * 8 // 67
    assert 0 < first["winners"] <= first["places"]
    assert len(first["winners_sha256"]) == 64
    assert {"draw", "generate", "total"} <= set(first["seconds"])
    assert _simulate("--seed", "11")["winners_sha256"] == first["winners_sha256"]
    assert _simulate("--seed", "12")["winners_sha256"] != first["winners_sha256"]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("draw")
    line = _simulate("--seed", "5", "--places", "600", "--out", str(folder))
    return folder, line


def _verify(folder) -> tuple[int, dict]:
    out = runner.invoke(
        app,
        [
            "verify",
            "--pool",
            str(folder / "pool.bin"),
            "--params",
            str(folder / "params.json"),
            "--workers",
            "1",
        ],
    )
    return out.exit_code, json.loads(out.output)


def test_verify_accepts_the_published_files(published):
    folder, line = published
    code, report = _verify(folder)
    assert (code, report["ok"]) == (0, True)
    assert (
        json.loads((folder / "params.json").read_bytes())["result"]["winners_sha256"]
        == (line["winners_sha256"])
    )


@pytest.mark.parametrize("name", ["pool.bin", "params.json"])
@pytest.mark.parametrize("where", [0, 0.37, 0.5, 0.81, -1])
def test_verify_rejects_a_single_changed_byte(published, tmp_path, name, where):
    folder, _ = published
    for file in ("pool.bin", "params.json"):
        (tmp_path / file).write_bytes((folder / file).read_bytes())
    data = bytearray((tmp_path / name).read_bytes())
    at = int(where * (len(data) - 1)) if where >= 0 else len(data) - 1
    data[at] ^= 0x01
    (tmp_path / name).write_bytes(bytes(data))
    code, report = _verify(tmp_path)
    assert (code, report["ok"]) == (1, False)


def test_verify_reports_a_missing_file(tmp_path):
    out = runner.invoke(
        app, ["verify", "--pool", str(tmp_path / "none"), "--params", str(tmp_path / "none.json")]
    )
    assert out.exit_code == 2
    assert json.loads(out.output)["ok"] is False
