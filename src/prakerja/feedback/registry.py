"""Versioned triage models on disk, the activation rule, and the built-in seed model.

Layout of the models directory (settings.var_dir / "models"):
`triage-v0001.joblib`, `triage-v0002.joblib`, ... and `ACTIVE` holding the active version
number. Files are written to a temporary name and renamed, so a crash never leaves a half model
active. With no active model the seed model (trained from data/seed.jsonl) serves.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import joblib
import sklearn

from prakerja.feedback.classifier import (
    Record,
    TriageModel,
    parse_jsonl,
    score,
    split_holdout,
    train,
)
from prakerja.settings import get_settings

_FILE = re.compile(r"triage-v(\d{4,})\.joblib")


def models_dir() -> Path:
    """Where versioned models live: <var_dir>/models."""
    return Path(get_settings().var_dir) / "models"


def seed_records() -> list[Record]:
    """The product's own labelled messages, shipped in the package."""
    text = resources.files("prakerja.feedback").joinpath("data", "seed.jsonl").read_text("utf-8")
    return parse_jsonl(text.splitlines(), "seed.jsonl")


def _seed_digest() -> str:
    """Changes whenever the seed set or the code that turns text into features changes."""
    from prakerja.feedback import classifier, features, rules, textnorm

    digest = hashlib.sha256(sklearn.__version__.encode())
    digest.update(resources.files("prakerja.feedback").joinpath("data", "seed.jsonl").read_bytes())
    for module in (classifier, features, rules, textnorm):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def seed_model() -> TriageModel:
    """The model trained from the seed set: built once, then reused from <models>/seed-*.joblib."""
    path = models_dir() / f"seed-{_seed_digest()}.joblib"
    if path.is_file():
        try:
            model = joblib.load(path)
            if isinstance(model, TriageModel):
                return model
        except Exception:  # noqa: S110  # a stale or torn cache file is simply rebuilt
            pass
    model = train(seed_records())
    model.meta["version"] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, lambda tmp: joblib.dump(model, tmp, compress=3))
    return model


def versions(directory: Path) -> list[int]:
    """Saved model versions, ascending."""
    if not directory.is_dir():
        return []
    return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _FILE.fullmatch(p.name)))


def _atomic_write(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def save(model: TriageModel, directory: Path) -> int:
    """Store the model as the next version (never overwriting one) and return its number."""
    directory.mkdir(parents=True, exist_ok=True)
    version = (versions(directory) or [0])[-1] + 1
    model.meta["version"] = version
    _atomic_write(
        directory / f"triage-v{version:04d}.joblib", lambda tmp: joblib.dump(model, tmp, compress=3)
    )
    return version


def load(directory: Path, version: int) -> TriageModel:
    """The stored model of that version."""
    model = joblib.load(directory / f"triage-v{version:04d}.joblib")
    if not isinstance(model, TriageModel):
        raise TypeError(f"model file v{version} does not hold a TriageModel")
    return model


def active_version(directory: Path) -> int | None:
    """The active version number, or None when the seed model serves."""
    marker = directory / "ACTIVE"
    if not marker.is_file():
        return None
    value = marker.read_text().strip()
    return int(value) if value.isdigit() else None


def activate(directory: Path, version: int) -> None:
    """Make a stored version the active one."""
    if version not in versions(directory):
        raise FileNotFoundError(f"no model version {version} in {directory}")
    _atomic_write(directory / "ACTIVE", lambda tmp: tmp.write_text(f"{version}\n"))
    _cached_load.cache_clear()


@lru_cache(maxsize=4)
def _cached_load(directory: Path, version: int) -> TriageModel:
    return load(directory, version)


def active_model(directory: Path | None = None) -> TriageModel:
    """The active model, else the seed model; loaded once and reused."""
    directory = directory or models_dir()
    version = active_version(directory)
    return seed_model() if version is None else _cached_load(directory, version)


def maybe_activate(new: TriageModel, current: TriageModel, holdout: list[Record]) -> bool:
    """True only if `new` keeps every head `current` has (a sentiment-only corpus must never
    switch off topic triage) and scores a strictly higher mean macro-F1 on holdout."""
    if set(current.heads) - set(new.heads):
        return False
    return score(new, holdout) > score(current, holdout)


def train_and_register(
    records: list[Record],
    directory: Path,
    *,
    with_seed: bool = True,
    activate_if_better: bool = True,
) -> dict[str, Any]:
    """Train on 80% of `records`, compare with the active model on the other 20%, store it.

    When the new model wins (and activation is wanted) it is refitted on all records before it
    is stored and activated; otherwise the measured model is stored but not activated.
    """
    extra = seed_records() if with_seed else []
    rest, holdout = split_holdout(records)
    candidate = train(rest + extra)
    current = active_model(directory)
    new_score, current_score = score(candidate, holdout), score(current, holdout)
    wins = new_score > current_score
    if wins and activate_if_better:
        candidate = train(records + extra)
    candidate.meta |= {"holdout_score": round(new_score, 4), "with_seed": with_seed}
    version = save(candidate, directory)
    if wins and activate_if_better:
        activate(directory, version)
    return {
        "version": version,
        "activated": wins and activate_if_better,
        "holdout_n": len(holdout),
        "holdout_score": round(new_score, 4),
        "current_version": current.meta.get("version"),
        "current_score": round(current_score, 4),
    }
