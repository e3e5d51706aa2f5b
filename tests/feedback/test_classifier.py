"""The triage model: training, prediction, evaluation and reading labelled data."""

import dataclasses
import json
from collections import Counter

import pytest

from prakerja.feedback.classifier import (
    SENTIMENTS,
    TOPICS,
    BadTrainingData,
    Record,
    evaluate,
    parse_jsonl,
    parse_tsv,
    read_records,
    split_holdout,
    train,
)


def test_the_seed_set_covers_every_topic_sentiment_and_urgency(seed):
    assert len(seed) >= 600
    topics = Counter(r.topic for r in seed)
    assert set(topics) == set(TOPICS)
    assert min(topics.values()) >= 30
    assert set(Counter(r.sentiment for r in seed)) == set(SENTIMENTS)
    assert Counter(r.urgent for r in seed)[True] >= 100


def test_predict_gives_one_triage_per_message_in_order(seed_model):
    texts = [
        "sertifikat saya belum muncul udh 2 minggu",
        "Insentif blm masuk padahal sertif sdh ada, dana tertahan katanya",
        "kode otp ga masuk ke email",
        "makasih prakerja, sangat membantu 🙏",
    ]
    out = seed_model.predict(texts)
    assert [t.topic for t in out] == [
        "certificate_completion",
        "incentive_payment",
        "login_otp",
        "praise_suggestion",
    ]
    assert out[0].sentiment == "negative"
    assert out[3].sentiment == "positive"
    for t in out:
        assert 0.0 <= t.topic_conf <= 1.0
        assert 0.0 <= t.sentiment_conf <= 1.0
        assert 0.5 <= t.urgent_conf <= 1.0


def test_fraud_and_distress_are_urgent_and_questions_are_not(seed_model):
    fraud, distress, question = seed_model.predict(
        [
            "ada yg ngaku petugas minta kode otp dan transfer 100rb, ini penipuan?",
            "tolong min sy stres bgt, insentif ga cair, anak sy belum makan",
            "kapan gelombang berikutnya dibuka?",
        ]
    )
    assert fraud.urgent
    assert "fraud" in fraud.urgent_reasons
    assert distress.urgent
    assert not question.urgent


def test_low_confidence_goes_to_a_human(seed_model):
    texts = ["qwerty zxcv asdf", "halo", "sertifikat belum muncul", "min gimana ini", "ok"]
    out = seed_model.predict(texts)
    assert [t.needs_human for t in out] == [min(t.topic_conf, t.sentiment_conf) < 0.5 for t in out]
    strict = dataclasses.replace(seed_model, min_confidence=1.01)
    assert all(t.needs_human for t in strict.predict(texts))
    relaxed = dataclasses.replace(seed_model, min_confidence=0.0)
    assert not any(t.needs_human for t in relaxed.predict(texts))


def test_an_empty_batch_gives_an_empty_list(seed_model):
    assert seed_model.predict([]) == []


def test_evaluate_reports_each_labelled_head(seed_model, seed):
    records = [*seed[:80], Record("saldo hilang", sentiment="negative")]
    report = evaluate(seed_model, records)
    assert report["n"] == 81
    topic = report["topic"]
    assert topic["n"] == 80
    assert sum(map(sum, topic["confusion"]["matrix"])) == 80
    assert set(topic["per_class"]) == set(topic["confusion"]["labels"])
    assert report["sentiment"]["n"] == 81
    assert 0.0 <= report["sentiment"]["macro_f1"] <= 1.0
    assert report["urgent"]["confusion"]["labels"] == ["false", "true"]
    json.dumps(report)


def test_a_head_without_labels_is_reported_as_none(seed_model):
    report = evaluate(seed_model, [Record("kode otp tidak masuk", sentiment="negative")])
    assert report["topic"] is None
    assert report["urgent"] is None


def test_a_model_without_topic_labels_sends_everything_to_a_human():
    records = [Record(f"pesan nomor {i} bagus sekali", sentiment="positive") for i in range(8)]
    records += [Record(f"pesan nomor {i} jelek sekali", sentiment="negative") for i in range(8)]
    model = train(records)
    assert set(model.heads) == {"sentiment"}
    out = model.predict(["bagus sekali"])[0]
    assert out.sentiment == "positive"
    assert out.topic == "other"
    assert out.needs_human


def test_training_refuses_too_few_messages():
    with pytest.raises(BadTrainingData, match="at least 10"):
        train([Record("halo", topic="other")])


def test_jsonl_records_may_miss_any_label():
    lines = [
        '{"text": "otp ga masuk", "topic": "login_otp"}',
        "",
        '{"text": "mantap", "sentiment": "positive", "urgent": false}',
    ]
    records = parse_jsonl(lines)
    assert records == [
        Record("otp ga masuk", topic="login_otp"),
        Record("mantap", sentiment="positive", urgent=False),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "x", "topic": "weather"}', "data:1: unknown topic 'weather'"),
        ('{"text": "x", "sentiment": "angry"}', "data:1: unknown sentiment 'angry'"),
        ('{"text": "x", "urgent": "yes"}', "data:1: 'urgent' must be true or false"),
        ('{"topic": "other"}', "data:1: a record needs a non-empty 'text'"),
        ("not json", "data:1: not JSON"),
    ],
)
def test_a_bad_jsonl_line_is_refused_naming_its_number(line, message):
    with pytest.raises(BadTrainingData) as info:
        parse_jsonl([line])
    assert info.value.detail.startswith(message)


def test_tsv_lines_label_sentiment_only():
    assert parse_tsv(["enak sekali\tpositive\n"]) == [Record("enak sekali", sentiment="positive")]
    with pytest.raises(BadTrainingData, match="expected text<TAB>label"):
        parse_tsv(["no tab here"])


def test_reading_a_missing_or_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(BadTrainingData, match="no such file"):
        read_records(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(BadTrainingData, match="no records"):
        read_records(tmp_path / "empty.jsonl")


def test_the_holdout_split_is_reproducible_and_disjoint(seed):
    train_a, hold_a = split_holdout(seed)
    train_b, hold_b = split_holdout(seed)
    assert hold_a == hold_b
    assert len(hold_a) == round(len(seed) * 0.2)
    assert len(train_a) + len(hold_a) == len(seed)
    assert train_a == train_b


def test_compiled_heads_match_scikit_learn_calibration(seed):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    from prakerja.feedback.classifier import LinearHead
    from prakerja.feedback.features import build_features, fast_transform
    from prakerja.feedback.textnorm import normalize_many

    texts = normalize_many(r.text for r in seed[:400])
    features = build_features()
    matrix = features.fit_transform(texts)
    for name, vectorizer in features.transformer_list:
        fast = fast_transform(vectorizer, texts[:50]).toarray()
        assert fast == pytest.approx(vectorizer.transform(texts[:50]).toarray(), abs=1e-6), name
    for labels in ([r.topic for r in seed[:400]], [r.urgent for r in seed[:400]]):
        clf = CalibratedClassifierCV(
            LinearSVC(C=0.3, class_weight="balanced", random_state=0), cv=3, ensemble=False
        ).fit(matrix, labels)
        _, proba = LinearHead.from_calibrated(clf).proba(matrix)
        assert proba == pytest.approx(clf.predict_proba(matrix), abs=1e-5)
