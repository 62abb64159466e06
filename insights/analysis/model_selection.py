"""Train a candidate sentiment model and compare it with the incumbent on the same held-out
rows. ORM-free: texts and labels in, a model and two sets of metrics out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sklearn.metrics import accuracy_score, f1_score

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
    holdout_texts: frozenset[str] = frozenset()


def _metrics(true: list[str], predicted: list[str]) -> dict:
    labels = sorted(set(true))
    return {
        "accuracy": round(float(accuracy_score(true, predicted)), 4),
        "macro_f1": round(float(f1_score(true, predicted, labels=labels, average="macro", zero_division=0)), 4),
    }


def _bucket(text: str) -> float:
    """Where ``text`` falls in 0..1, the same in every run and process."""
    digest = hashlib.blake2b(text.strip().lower().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def is_held_out(text: str) -> bool:
    """Whether ``text`` belongs to the held-out rows: decided by the text alone, so a row
    held out once is held out in every later run and no model is ever trained on it."""
    return _bucket(text) < HOLDOUT_SHARE


def split(texts: list[str], labels: list[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """``(train_x, test_x, train_y, test_y)``: the held-out rows are chosen by a hash of the
    text, not at random, so they stay the same as rows are added (identical texts always
    land on the same side)."""
    train_x, test_x, train_y, test_y = [], [], [], []
    for text, label in zip(texts, labels, strict=True):
        if is_held_out(text):
            test_x.append(text)
            test_y.append(label)
        else:
            train_x.append(text)
            train_y.append(label)
    return train_x, test_x, train_y, test_y


def train_and_compare(
    texts: list[str],
    labels: list[str],
    *,
    incumbent: Callable[[list[str]], list[SentimentResult]],
    random_state: int = 0,
) -> TrainingOutcome:
    """Hold out a stable share of the rows (:func:`split`), train on the rest, score both
    models on the holdout.

    The returned model is the one trained without the held-out rows: retraining on them
    would let the next run grade the then-active model on rows it learned. Raises
    ``ValueError`` when either side of the split is empty or the training side has a
    single label.
    """
    train_x, test_x, train_y, test_y = split(texts, labels)
    if not test_x or not train_x:
        raise ValueError(f"{len(texts)} rows are too few to hold out a share for comparison")
    candidate = sentiment_model.train(train_x, train_y, random_state=random_state)
    candidate_labels = [r.label for r in candidate.predict(test_x)]
    incumbent_labels = [r.label for r in incumbent(test_x)]
    return TrainingOutcome(
        model=candidate,
        candidate_metrics=_metrics(test_y, candidate_labels),
        incumbent_metrics=_metrics(test_y, incumbent_labels),
        training_size=len(train_x),
        holdout_size=len(test_x),
        holdout_texts=frozenset(test_x),
    )
