"""Lexicon sentiment (VADER plus the words of product feedback it lacks): the cold-start
model. Plain data in, plain data out."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

# Written into Feedback.sentiment_model; a new name makes the re-score pass update rows an
# older lexicon scored.
MODEL_NAME = "vader-3.3.2+feedback"
PLAIN_VADER_NAME = "vader-3.3.2"
# The thresholds of Hutto & Gilbert (2014) on the compound score.
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05


@dataclass(frozen=True)
class SentimentResult:
    score: float
    label: str


# Words of product and service feedback that VADER (built on social media text) lacks,
# on its −4..4 scale. Written from common feedback language, not fitted to any data set.
# The cold-start model scores with them; a trained model only takes them as lexicon
# features, so training decides how much they count.
# fmt: off
FEEDBACK_LEXICON = {
    # praise
    "accurate": 1.0, "affordable": 1.0, "attentive": 1.5, "crisp": 1.0, "durable": 1.5,
    "effortless": 1.5, "exceeded": 1.5, "fast": 1.0, "handy": 1.3, "intuitive": 1.8,
    "knowledgeable": 1.5, "polished": 1.2, "professional": 1.2, "professionally": 1.2,
    "prompt": 0.8, "promptly": 1.0, "quick": 0.8, "quickly": 0.6, "reliable": 1.8,
    "reliably": 1.5, "seamless": 1.8, "seamlessly": 1.8, "smooth": 1.3, "smoothly": 1.3,
    "snappy": 1.2, "speedy": 1.2, "sturdy": 1.5, "timely": 1.0, "user-friendly": 1.8,
    "well-made": 1.8, "worked": 0.5, "works": 0.6,
    # complaints
    "bug": -1.2, "bugs": -1.2, "buggy": -2.0, "cheaply": -1.5, "clunky": -1.5, "crashed": -1.8,
    "crashes": -1.8, "crashing": -1.8, "cumbersome": -1.5, "disconnected": -1.2,
    "disconnects": -1.5, "downtime": -1.5, "flimsy": -1.8, "froze": -1.5, "frozen": -1.0,
    "garbage": -2.2, "glitch": -1.5, "glitches": -1.5, "glitchy": -1.8, "junk": -2.2,
    "laggy": -1.8, "late": -0.8, "leaking": -1.5, "leaks": -1.5, "malfunction": -2.0,
    "malfunctions": -2.0, "outage": -1.8, "overcharged": -2.0, "overdue": -1.2,
    "overpriced": -1.8, "refund": -0.8, "returned": -0.8, "slow": -1.2, "slowly": -0.8,
    "trash": -2.0, "unanswered": -1.5, "unhelpful": -2.0, "unreliable": -2.0,
    "unresponsive": -1.8, "unusable": -2.5,
}
# fmt: on


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    for word, valence in FEEDBACK_LEXICON.items():
        analyzer.lexicon.setdefault(word, valence)
    return analyzer


@lru_cache(maxsize=1)
def _plain_analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def label_for(score: float) -> str:
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def score_texts(texts: list[str]) -> list[SentimentResult]:
    """The cold-start model's scores: VADER with :data:`FEEDBACK_LEXICON` added."""
    return _score(_analyzer(), texts)


def score_texts_plain_vader(texts: list[str]) -> list[SentimentResult]:
    """VADER's own lexicon only (the baseline of ``sentiment_benchmark``)."""
    return _score(_plain_analyzer(), texts)


def _score(analyzer: SentimentIntensityAnalyzer, texts: list[str]) -> list[SentimentResult]:
    results = []
    for text in texts:
        score = float(analyzer.polarity_scores(text)["compound"])
        score = max(-1.0, min(1.0, score))
        results.append(SentimentResult(score=score, label=label_for(score)))
    return results
