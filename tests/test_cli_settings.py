"""A wrong PRAKERJA_ variable stops every command with one line naming it, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("PRAKERJA_DEFAULT_LANGUAGE", "fr", "error: PRAKERJA_DEFAULT_LANGUAGE: "),
        ("PRAKERJA_WEB_THREADS", "banyak", "error: PRAKERJA_WEB_THREADS: "),
        ("PRAKERJA_ADAPTER_MAX_IN_FLIGHT", "20", "must be below the 9 route threads"),
    ],
)
def test_a_wrong_setting_is_named_and_nothing_runs(tmp_path, variable, value, said):
    env = {**os.environ, variable: value, "PRAKERJA_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "nik", "check", "3201011505900001"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "var").exists()
