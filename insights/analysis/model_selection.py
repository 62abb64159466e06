"""Train a candidate sentiment model and compare it with the incumbent on the same held-out
rows. ORM-free: texts and labels in, a model and two sets of metrics out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from . import sentiment_model
from .sentiment import SentimentResult

HOLDOUT_SHARE = 0.2


@dataclass
class TrainingOutcome:
    model: object
    candidate_metrics: dict
    incumbent_metrics: dict
    training_size: int
    holdout_size: int


def _metrics(true: list[str], predicted: list[str]) -> dict:
    labels = sorted(set(true))
    return {
        "accuracy": round(float(accuracy_score(true, predicted)), 4),
        "macro_f1": round(float(f1_score(true, predicted, labels=labels, average="macro", zero_division=0)), 4),
    }


def train_and_compare(
    texts: list[str],
    labels: list[str],
    *,
    incumbent: Callable[[list[str]], list[SentimentResult]],
    random_state: int = 0,
) -> TrainingOutcome:
    """Hold out a stratified share, train on the rest, score both models on the holdout.

    The returned model is retrained on all rows, so the activated model uses every label;
    its metrics are those of the holdout run.
    """
    counts = Counter(labels)
    stratify = labels if min(counts.values()) >= 2 else None
    train_x, test_x, train_y, test_y = train_test_split(
        texts, labels, test_size=HOLDOUT_SHARE, random_state=random_state, stratify=stratify
    )
    candidate = sentiment_model.train(train_x, train_y, random_state=random_state)
    candidate_labels = [r.label for r in candidate.predict(test_x)]
    incumbent_labels = [r.label for r in incumbent(test_x)]
    final = sentiment_model.train(texts, labels, random_state=random_state)
    return TrainingOutcome(
        model=final,
        candidate_metrics=_metrics(test_y, candidate_labels),
        incumbent_metrics=_metrics(test_y, incumbent_labels),
        training_size=len(texts),
        holdout_size=len(test_x),
    )
