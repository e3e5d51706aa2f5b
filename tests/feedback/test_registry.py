"""Model versions on disk, the activation rule and the seed model fallback."""

import random

import pytest

from prakerja.feedback import registry
from prakerja.feedback.classifier import Record, train
from prakerja.settings import get_settings


@pytest.fixture(scope="module")
def small(seed) -> list[Record]:
    return seed[:300]


@pytest.fixture(scope="module")
def good_model(small):  # type: ignore[no-untyped-def]
    return train(small)


@pytest.fixture(scope="module")
def scrambled_model(small):  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    topics, sentiments = [r.topic for r in small], [r.sentiment for r in small]
    rng.shuffle(topics)
    rng.shuffle(sentiments)
    return train(
        [Record(r.text, t, s, r.urgent) for r, t, s in zip(small, topics, sentiments, strict=True)]
    )


def test_saved_models_get_increasing_versions_and_load_back(tmp_path, good_model, seed):
    assert registry.versions(tmp_path) == []
    assert registry.save(good_model, tmp_path) == 1
    assert registry.save(good_model, tmp_path) == 2
    assert registry.versions(tmp_path) == [1, 2]
    loaded = registry.load(tmp_path, 1)
    texts = [r.text for r in seed[300:340]]
    assert loaded.predict(texts) == good_model.predict(texts)


def test_without_an_active_version_the_seed_model_serves(tmp_path, seed_model):
    assert registry.active_version(tmp_path) is None
    assert registry.active_model(tmp_path) is seed_model
    assert seed_model.meta["version"] == 0


def test_activating_a_version_switches_the_served_model(tmp_path, good_model):
    version = registry.save(good_model, tmp_path)
    registry.activate(tmp_path, version)
    assert registry.active_version(tmp_path) == version
    assert registry.active_model(tmp_path).meta["version"] == version
    with pytest.raises(FileNotFoundError):
        registry.activate(tmp_path, 99)
    assert registry.active_version(tmp_path) == version


def test_a_new_model_is_activated_only_if_it_beats_the_current(good_model, scrambled_model, seed):
    holdout = seed[300:500]
    assert registry.maybe_activate(good_model, scrambled_model, holdout)
    assert not registry.maybe_activate(scrambled_model, good_model, holdout)
    assert not registry.maybe_activate(good_model, good_model, holdout)


def test_train_and_register_keeps_a_worse_model_inactive(tmp_path, small, seed_model):
    rng = random.Random(2)
    labels = [r.sentiment for r in small]
    rng.shuffle(labels)
    noisy = [Record(r.text, sentiment=s) for r, s in zip(small, labels, strict=True)]
    report = registry.train_and_register(noisy, tmp_path, with_seed=False)
    assert report["version"] == 1
    assert report["activated"] is False
    assert report["holdout_score"] < report["current_score"]
    assert registry.versions(tmp_path) == [1]
    assert registry.active_version(tmp_path) is None


def test_train_and_register_activates_a_better_model(tmp_path, small, scrambled_model):
    registry.activate(tmp_path, registry.save(scrambled_model, tmp_path))
    report = registry.train_and_register(small, tmp_path, with_seed=False)
    assert report["activated"] is True
    assert report["version"] == 2
    assert report["current_version"] == 1
    assert registry.active_version(tmp_path) == 2


def test_the_seed_model_is_kept_on_disk_and_reloads_identically(seed, tmp_path, monkeypatch):
    # Built afresh under a var dir of its own: the in-process cache may hold a model another
    # test built under its own (temporary) var dir.
    monkeypatch.setattr(get_settings(), "var_dir", tmp_path)
    registry.seed_model.cache_clear()
    try:
        built = registry.seed_model()
        path = registry.models_dir() / f"seed-{registry._seed_digest()}.joblib"
        assert path.parent == tmp_path / "models"
        assert path.is_file()
        texts = [r.text for r in seed[:30]]
        reloaded = registry.joblib.load(path)
        assert reloaded.predict(texts) == built.predict(texts)
        registry.seed_model.cache_clear()
        assert registry.seed_model().predict(texts) == built.predict(texts)  # read from disk
    finally:
        registry.seed_model.cache_clear()


def test_a_model_without_a_topic_head_never_replaces_one_with_it(good_model, seed):
    import copy

    stripped = copy.copy(good_model)
    stripped.heads = {k: v for k, v in good_model.heads.items() if k != "topic"}
    assert "topic" in good_model.heads
    assert not registry.maybe_activate(stripped, good_model, list(seed))
