"""The triage model: topic, sentiment and urgency heads over one shared TF-IDF feature space.

Text is normalised (textnorm), vectorised once per batch (word 1-2 grams + char_wb 2-5 grams),
and each head is a calibrated linear SVM, so a batch costs one sparse transform and three
sparse products. Urgency also listens to the rules in `rules.py`. Versioning, activation and
the seed model live in `registry.py`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from prakerja.feedback import rules
from prakerja.feedback.features import build_features, fast_transform
from prakerja.feedback.textnorm import normalize_many
from prakerja.kit.errors import Invalid

TOPICS = (
    "registration_identity",
    "login_otp",
    "face_verification",
    "account_blocked",
    "selection",
    "training_purchase",
    "certificate_completion",
    "incentive_payment",
    "payment_account",
    "survey",
    "fraud_report",
    "praise_suggestion",
    "other",
)
SENTIMENTS = ("negative", "neutral", "positive")
HEADS = ("topic", "sentiment", "urgent")
LABELS: dict[str, tuple[Any, ...]] = {
    "topic": TOPICS,
    "sentiment": SENTIMENTS,
    "urgent": (False, True),
}
_MISSING: dict[str, Any] = {"topic": "other", "sentiment": "neutral", "urgent": False}


class BadTrainingData(Invalid):
    code = "feedback.bad_training_data"
    title = "The labelled messages cannot be used"


@dataclass(frozen=True)
class Record:
    """One labelled message; a missing label means the record does not train that head."""

    text: str
    topic: str | None = None
    sentiment: str | None = None
    urgent: bool | None = None

    def label(self, head: str) -> Any:
        return getattr(self, head)


class Triage(NamedTuple):
    """The model's reading of one message; `needs_human` when topic or sentiment is unsure."""

    topic: str
    topic_conf: float
    sentiment: str
    sentiment_conf: float
    urgent: bool
    urgent_conf: float
    needs_human: bool
    urgent_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinearHead:
    """A linear SVM with per-class sigmoid calibration held as plain arrays.

    Predicts the SVM's own label (argmax of the decision) with the calibrated probability of
    that label as confidence; the arithmetic is CalibratedClassifierCV's, without its per-call
    validation, so one message costs microseconds.
    """

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def from_calibrated(cls, clf: CalibratedClassifierCV) -> LinearHead:
        inner = clf.calibrated_classifiers_[0]
        svm = inner.estimator
        return cls(
            classes=np.asarray(svm.classes_),
            coef=np.ascontiguousarray(svm.coef_.T, dtype=np.float32),
            intercept=np.asarray(svm.intercept_, dtype=np.float32),
            a=np.array([c.a_ for c in inner.calibrators]),
            b=np.array([c.b_ for c in inner.calibrators]),
        )

    def proba(self, matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        """(decision, calibrated probabilities with one column per class)."""
        decision = np.asarray(matrix @ self.coef) + self.intercept
        sig = expit(-(decision * self.a + self.b))
        if len(self.classes) == 2:
            return decision[:, 0], np.column_stack([1.0 - sig[:, 0], sig[:, 0]])
        total = sig.sum(axis=1, keepdims=True)
        uniform = np.full_like(sig, 1.0 / len(self.classes))
        return decision, np.divide(sig, total, out=uniform, where=total != 0)

    def predict(self, matrix: Any) -> tuple[list[Any], np.ndarray]:
        """Labels and the calibrated confidence of each label."""
        decision, proba = self.proba(matrix)
        best = (decision > 0).astype(np.intp) if decision.ndim == 1 else decision.argmax(axis=1)
        return self.classes[best].tolist(), proba[np.arange(len(best)), best]


@dataclass
class TriageModel:
    """Fitted features and heads; `predict` is vectorised over the whole batch."""

    features: FeatureUnion
    heads: dict[str, LinearHead]
    min_confidence: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    def _head(self, head: str, matrix: Any, n: int) -> tuple[list[Any], np.ndarray]:
        found = self.heads.get(head)
        if found is None:
            return [_MISSING[head]] * n, np.zeros(n)
        return found.predict(matrix)

    def vectorise(self, normalised: list[str]) -> Any:
        """The feature matrix of normalised texts (same as features.transform, faster)."""
        parts = [fast_transform(v, normalised) for _, v in self.features.transformer_list]
        return sp.hstack(parts, format="csr")

    def predict(self, texts: Sequence[str]) -> list[Triage]:
        """One Triage per text, in order; an empty batch gives an empty list."""
        if not texts:
            return []
        normalised = normalize_many(texts)
        matrix = self.vectorise(normalised)
        n = len(normalised)
        topics, topic_conf = self._head("topic", matrix, n)
        sentiments, sent_conf = self._head("sentiment", matrix, n)
        urgent, urgent_conf = self._head("urgent", matrix, n)
        reasons, weights = rules.urgency_batch(normalised)
        p_model = np.where(np.asarray(urgent, dtype=bool), urgent_conf, 1.0 - urgent_conf)
        p_urgent = 1.0 - (1.0 - p_model) * (1.0 - weights)
        is_urgent = p_urgent >= 0.5
        columns = (
            topics,
            np.round(topic_conf, 4).tolist(),
            sentiments,
            np.round(sent_conf, 4).tolist(),
            is_urgent.tolist(),
            np.round(np.where(is_urgent, p_urgent, 1.0 - p_urgent), 4).tolist(),
            (np.minimum(topic_conf, sent_conf) < self.min_confidence).tolist(),
            reasons,
        )
        return list(map(Triage._make, zip(*columns, strict=True)))


def _fit_head(matrix: Any, labels: list[Any], c: float) -> LinearHead | None:
    counts: dict[Any, int] = {}
    for y in labels:
        counts[y] = counts.get(y, 0) + 1
    if len(counts) < 2:
        return None
    folds = max(2, min(3, min(counts.values())))
    svm = LinearSVC(C=c, class_weight="balanced", random_state=0)
    calibrated = CalibratedClassifierCV(svm, cv=folds, method="sigmoid", ensemble=False)
    return LinearHead.from_calibrated(calibrated.fit(matrix, labels))


def train(records: Sequence[Record], *, c: float = 0.3) -> TriageModel:
    """A model fitted on every record; a head with fewer than two classes is left out."""
    if len(records) < 10:
        raise BadTrainingData(f"need at least 10 labelled messages, got {len(records)}")
    normalised = normalize_many(r.text for r in records)
    features = build_features()
    matrix = features.fit_transform(normalised)
    for _, vectorizer in features.transformer_list:
        vectorizer.stop_words_ = None  # the pruned n-grams: large, unused, text fragments
    heads: dict[str, LinearHead] = {}
    for head in HEADS:
        rows = [i for i, r in enumerate(records) if r.label(head) is not None]
        if rows and all(_has_two_per_class(records, rows, head)):
            fitted = _fit_head(matrix[rows], [records[i].label(head) for i in rows], c)
            if fitted is not None:
                heads[head] = fitted
    counts = {h: sum(r.label(h) is not None for r in records) for h in HEADS}
    return TriageModel(features, heads, meta={"n_train": len(records), "labelled": counts})


def _has_two_per_class(records: Sequence[Record], rows: list[int], head: str) -> list[bool]:
    counts: dict[Any, int] = {}
    for i in rows:
        counts[records[i].label(head)] = counts.get(records[i].label(head), 0) + 1
    return [n >= 2 for n in counts.values()]


def _head_report(head: str, truth: list[Any], pred: list[Any]) -> dict[str, Any]:
    labels = [x for x in LABELS[head] if x in set(truth) | set(pred)]
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
    names = [str(x).lower() for x in labels]
    return {
        "n": len(truth),
        "macro_f1": round(
            float(f1_score(truth, pred, labels=labels, average="macro", zero_division=0)), 4
        ),
        "per_class": {
            n: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, n in enumerate(names)
        },
        "confusion": {
            "labels": names,
            "matrix": confusion_matrix(truth, pred, labels=labels).tolist(),
        },
    }


def evaluate(model: TriageModel, records: Sequence[Record]) -> dict[str, Any]:
    """Macro-F1, per-class precision/recall and confusion matrix for each labelled head."""
    preds = model.predict([r.text for r in records])
    report: dict[str, Any] = {"n": len(records)}
    for head in HEADS:
        rows = [i for i, r in enumerate(records) if r.label(head) is not None]
        if not rows:
            report[head] = None
            continue
        report[head] = _head_report(
            head, [records[i].label(head) for i in rows], [getattr(preds[i], head) for i in rows]
        )
    report["needs_human_rate"] = round(sum(p.needs_human for p in preds) / max(1, len(preds)), 4)
    return report


def score(model: TriageModel, records: Sequence[Record]) -> float:
    """Mean macro-F1 over the heads the records label (0.0 when they label none)."""
    report = evaluate(model, records)
    values = [report[h]["macro_f1"] for h in HEADS if report[h] is not None]
    return sum(values) / len(values) if values else 0.0


def split_holdout(
    records: Sequence[Record], fraction: float = 0.2, seed: int = 0
) -> tuple[list[Record], list[Record]]:
    """(train, holdout): a reproducible shuffle, at least one record on each side."""
    order = list(records)
    random.Random(seed).shuffle(order)  # noqa: S311  # not security: a reproducible split
    cut = min(len(order) - 1, max(1, round(len(order) * fraction)))
    return order[cut:], order[:cut]


# --- reading labelled data ----------------------------------------------------------------------


def _record(obj: Any, where: str) -> Record:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
        raise BadTrainingData(f"{where}: a record needs a non-empty 'text'")
    topic, sentiment, urgent = obj.get("topic"), obj.get("sentiment"), obj.get("urgent")
    if topic is not None and topic not in TOPICS:
        raise BadTrainingData(f"{where}: unknown topic {topic!r}")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise BadTrainingData(f"{where}: unknown sentiment {sentiment!r}")
    if urgent is not None and not isinstance(urgent, bool):
        raise BadTrainingData(f"{where}: 'urgent' must be true or false")
    return Record(obj["text"], topic, sentiment, urgent)


def parse_jsonl(lines: Iterable[str], name: str = "data") -> list[Record]:
    """Records from JSON Lines; blank lines are skipped, a bad line names its number."""
    out = []
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadTrainingData(f"{name}:{no}: not JSON ({exc.msg})") from exc
        out.append(_record(obj, f"{name}:{no}"))
    return out


def parse_tsv(lines: Iterable[str], name: str = "data") -> list[Record]:
    """Records from `text<TAB>sentiment` lines (the IndoNLU SmSA format)."""
    out = []
    for no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        text, tab, label = line.rstrip("\r\n").rpartition("\t")
        if not tab:
            raise BadTrainingData(f"{name}:{no}: expected text<TAB>label")
        out.append(_record({"text": text, "sentiment": label}, f"{name}:{no}"))
    return out


def read_records(path: Path) -> list[Record]:
    """Records from a .jsonl file, or a .tsv file of text<TAB>sentiment."""
    if not path.is_file():
        raise BadTrainingData(f"{path}: no such file")
    with path.open(encoding="utf-8") as fh:
        records = parse_tsv(fh, path.name) if path.suffix == ".tsv" else parse_jsonl(fh, path.name)
    if not records:
        raise BadTrainingData(f"{path}: no records")
    return records
