"""Fixtures of the feedback tests: the seed records and the seed model, built once per worker."""

import pytest

from prakerja.feedback import registry
from prakerja.feedback.classifier import Record


@pytest.fixture(scope="session")
def seed() -> list[Record]:
    return registry.seed_records()


@pytest.fixture(scope="session")
def seed_model():  # type: ignore[no-untyped-def]
    return registry.seed_model()
