"""Lexicon sentiment (VADER): the cold-start model. Plain data in, plain data out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

MODEL_NAME = "vader-3.3.2"
# The thresholds of Hutto & Gilbert (2014) on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


@dataclass(frozen=True)
class SentimentResult:
    score: float
    label: str


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def label_for(score: float) -> str:
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def score_texts(texts: list[str]) -> list[SentimentResult]:
    analyzer = _analyzer()
    results = []
    for text in texts:
        score = float(analyzer.polarity_scores(text)["compound"])
        score = max(-1.0, min(1.0, score))
        results.append(SentimentResult(score=score, label=label_for(score)))
    return results
