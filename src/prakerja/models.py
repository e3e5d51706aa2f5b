"""Imports every context's tables so Alembic and tests see the whole schema."""

from prakerja.contexts import import_all
from prakerja.kit import audit, jobs, notify  # noqa: F401

import_all("model")  # model.py and model_*.py of every context
