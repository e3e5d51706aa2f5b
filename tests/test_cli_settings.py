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
        ("PRAKERJA_ADAPTER_MAX_IN_FLIGHT", "20", "must be below the 12 route threads"),
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


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prakerja.cli", "nik", "check", "3201011505900001"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


_REAL_SECRETS = {
    "PRAKERJA_SESSION_SECRET": "s" * 43,
    "PRAKERJA_BLIND_INDEX_KEY": "b" * 43,
    "PRAKERJA_AUDIT_SECRET": "a" * 43,
    "PRAKERJA_PII_KEYS": "k9:" + "QUJD" * 11,
    "PRAKERJA_DEV_INBOX": "0",
}


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ({"PRAKERJA_SESSION_SECRET": "dev-session-secret-change-me"}, "PRAKERJA_SESSION_SECRET"),
        ({"PRAKERJA_PII_KEYS": ""}, "PRAKERJA_PII_KEYS"),  # "" = unset: the demo key
        ({"PRAKERJA_DEV_INBOX": "1"}, "PRAKERJA_DEV_INBOX=1"),
    ],
)
def test_production_refuses_demo_secrets_and_the_dev_inbox(tmp_path, override, said):
    env = {**os.environ, **_REAL_SECRETS, "PRAKERJA_VAR_DIR": str(tmp_path / "var")}
    env["PRAKERJA_ENVIRONMENT"] = "prod"
    env.update(override)
    if override.get("PRAKERJA_PII_KEYS") == "":
        del env["PRAKERJA_PII_KEYS"]
    done = _run(env)
    assert done.returncode == 2
    assert "error: settings: " in done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "var").exists()


def test_production_with_real_secrets_runs(tmp_path):
    env = {**os.environ, **_REAL_SECRETS, "PRAKERJA_VAR_DIR": str(tmp_path / "var")}
    env["PRAKERJA_ENVIRONMENT"] = "prod"
    done = _run(env)
    assert done.returncode == 0, done.stderr
    assert '"valid": true' in done.stdout


def test_the_dev_inbox_is_off_unless_asked_for(monkeypatch):
    from prakerja.settings import Settings

    monkeypatch.delenv("PRAKERJA_DEV_INBOX", raising=False)
    assert Settings(_env_file=None).dev_inbox is False  # type: ignore[call-arg]
