"""`prakerja sim ...` commands and fault settings."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from prakerja.sim.cli import app
from prakerja.sim.population import Population
from prakerja.sim.server import Faults, parse_latency

runner = CliRunner()


def test_population_command_writes_a_loadable_file(tmp_path):
    out = tmp_path / "pop.jsonl"
    result = runner.invoke(app, ["population", "--count", "2500", "--out", str(out), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert len(Population.load(out)) == 2500
    assert "514 kabupaten/kota" in result.output


def test_population_command_refuses_a_zero_count(tmp_path):
    result = runner.invoke(app, ["population", "--count", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0
    assert not (tmp_path / "x").exists()


def test_a_bad_latency_flag_is_refused_before_serving(tmp_path):
    result = runner.invoke(app, ["face", "--port", "0", "--latency-ms", "80-20"])
    assert result.exit_code != 0
    assert "latency" in result.output


def test_latency_and_rates_are_validated():
    assert parse_latency("20-80") == (20, 80)
    assert parse_latency("5") == (5, 5)
    with pytest.raises(ValueError, match="latency"):
        parse_latency("a-b-c")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        Faults(error_rate=0.6, timeout_rate=0.6)


def test_faults_default_from_the_environment(monkeypatch):
    monkeypatch.setenv("PRAKERJA_SIM_LATENCY_MS", "1-2")
    monkeypatch.setenv("PRAKERJA_SIM_ERROR_RATE", "0.25")
    faults = Faults.from_env()
    assert (faults.latency_ms, faults.error_rate, faults.timeout_rate) == ((1, 2), 0.25, 0.0)
