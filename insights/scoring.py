"""Which sentiment model scores feedback in this process: the active version, loaded once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .analysis import sentiment
from .analysis.sentiment import SentimentResult
from .analysis.sentiment_model import LexiconSentimentModel, MixedResult
from .models import SentimentModel


@dataclass(frozen=True)
class Scorer:
    name: str
    version: int | None
    score: Callable[[list[str]], list[SentimentResult]]
    # Overall result plus the strongest positive and negative sentence of each text.
    score_mixed: Callable[[list[str]], list[MixedResult]]


LEXICON = Scorer(
    name=sentiment.MODEL_NAME,
    version=None,
    score=sentiment.score_texts,
    score_mixed=LexiconSentimentModel().score_sentences_many,
)

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: dict[int, Scorer] = {}


def model_dir() -> Path:
    path = Path(getattr(settings, "SENTIMENT_MODEL_DIR", settings.VAR_DIR / "models"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def scorer_for(record: SentimentModel | None) -> Scorer:
    """The scorer of a model version; trained artifacts are loaded once per process."""
    if record is None or record.kind == SentimentModel.Kind.LEXICON:
        return LEXICON
    with _lock:
        if record.version not in _loaded:
            from .analysis import sentiment_model

            try:
                trained = sentiment_model.load(model_dir() / record.artifact)
            except Exception:
                # A missing or unreadable artifact must not stop analysis: score with the
                # lexicon now; the re-score pass upgrades these rows once the file is back.
                logger.exception(
                    "cannot load sentiment model v%s; using the lexicon", record.version
                )
                return LEXICON
            _loaded.clear()  # keep one trained model in memory
            _loaded[record.version] = Scorer(
                name=record.name,
                version=record.version,
                score=trained.predict,
                score_mixed=trained.score_sentences_many,
            )
        return _loaded[record.version]


def artifact_problem(record: SentimentModel) -> str:
    """Why a trained model's artifact cannot score feedback in this installation, in words
    for the models page ("" when it can): the file is gone, is no model, or was saved with
    another format or library versions than the ones installed."""
    from .analysis import sentiment_model

    path = model_dir() / record.artifact
    if not record.artifact or not path.is_file():
        return "its file is missing"
    try:
        problems = sentiment_model.incompatibilities(sentiment_model.read_header(path))
    except (sentiment_model.IncompatibleModelError, OSError):
        return "its file is not a sentiment model"
    if problems:
        return f"it was saved with {'; '.join(problems)}. Train a new model instead"
    try:
        sentiment_model.load(path)
    except Exception:  # a damaged file can fail to unpickle in any way
        return "its file is damaged and cannot be loaded"
    return ""


def active_scorer() -> Scorer:
    return scorer_for(SentimentModel.objects.active().first())
