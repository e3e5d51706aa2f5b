"""The text pipeline on real Indonesian text: IndoNLU SmSA, train on train, measure on valid."""

import pytest

from prakerja.feedback.classifier import evaluate, read_records, train


@pytest.mark.slow
def test_sentiment_macro_f1_on_smsa_validation_is_at_least_086(shared_dir):
    folder = shared_dir / "data" / "indonlu-smsa"
    model = train(read_records(folder / "train_preprocess.tsv"))
    report = evaluate(model, read_records(folder / "valid_preprocess.tsv"))
    assert report["sentiment"]["n"] == 1260
    assert report["sentiment"]["macro_f1"] >= 0.86
