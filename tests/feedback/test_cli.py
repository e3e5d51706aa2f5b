"""`prakerja feedback train|evaluate` on labelled files."""

import json

from typer.testing import CliRunner

from prakerja.cli import app

runner = CliRunner()


def _write(path, records):
    path.write_text("\n".join(json.dumps(r.__dict__) for r in records), encoding="utf-8")


def test_train_then_evaluate_prints_one_json_line(tmp_path, seed):
    models = tmp_path / "models"
    _write(tmp_path / "train.jsonl", seed[:300])
    _write(tmp_path / "test.jsonl", seed[600:700])
    result = runner.invoke(
        app,
        [
            "feedback",
            "train",
            "--data",
            str(tmp_path / "train.jsonl"),
            "--no-seed",
            "--no-activate",
            "--models",
            str(models),
        ],
    )
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["version"] == 1
    assert trained["activated"] is False
    result = runner.invoke(
        app,
        ["feedback", "evaluate", "--data", str(tmp_path / "test.jsonl"), "--models", str(models)],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["model_version"] == 0
    assert report["topic"]["macro_f1"] > 0.5
    assert {"precision", "recall"} <= set(report["sentiment"]["per_class"]["negative"])


def test_a_tsv_file_is_read_as_text_and_sentiment(tmp_path):
    data = tmp_path / "smsa.tsv"
    data.write_text("pelayanan cepat dan ramah\tpositive\nlambat sekali\tnegative\n")
    result = runner.invoke(
        app, ["feedback", "evaluate", "--data", str(data), "--models", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["topic"] is None
    assert report["sentiment"]["n"] == 2


def test_a_bad_file_is_refused_and_no_model_is_stored(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "halo", "topic": "cuaca"}\n')
    result = runner.invoke(
        app, ["feedback", "train", "--data", str(data), "--models", str(tmp_path / "models")]
    )
    assert result.exit_code == 2
    assert "unknown topic 'cuaca'" in result.output
    assert not (tmp_path / "models").exists()


def test_too_few_messages_without_the_seed_is_refused(tmp_path):
    data = tmp_path / "few.jsonl"
    data.write_text('{"text": "otp ga masuk", "topic": "login_otp"}\n' * 5)
    result = runner.invoke(
        app, ["feedback", "train", "--data", str(data), "--no-seed", "--models", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "at least 10" in result.output
    assert list(tmp_path.glob("triage-*")) == []
