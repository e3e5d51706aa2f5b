"""Fixtures for the region tests: the shared population file and a CLI bound to the test db."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prakerja.kit.db import Database
from prakerja.settings import get_settings


@pytest.fixture
def population_csv(shared_dir: Path) -> Path:
    """The Dukcapil 2024 S2 file, read in place from ../shared (never copied into the repo)."""
    path = shared_dir / "data" / "population" / "dukcapil_2024s2.csv"
    if not path.exists():
        pytest.fail(f"shared population file missing: {path}")
    return path


@pytest.fixture
def cli_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Point the CLI's open_db() at the test database."""
    monkeypatch.setenv("PRAKERJA_DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()
