"""Trained sentiment model: the product's pipeline, ORM-free. Plain data in, plain data out.

The lexicon (VADER) transfers across domains but misses the organisation's own language;
word and character n-grams learn that language but need labels. The pipeline joins both in
one linear model:

* word 1–2-grams (TF-IDF) of the lowercased text, with words after a negation marked
  (``not good`` → ``not good_NEG``) up to the end of the clause;
* character 2–4-grams (TF-IDF), which catch misspellings, inflections and emoticons;
* the lexicon's view of the text (VADER plus :data:`FEEDBACK_LEXICON`), clause by clause:
  a pseudo-token per sentiment-bearing word after VADER's rules for negation and boosters
  (``LEXP2`` = positive, medium strength; ``F`` marks a polarity flipped by negation), a
  rating written in the text (``4/5``, ``9 out of 10``), and dense scores — compound,
  pos/neg/neu shares, summed and extreme valences, and the compound of the first, last,
  weakest and strongest clause, so the model learns how much the clause after "but" counts;
* when the optional embedding model is installed (:mod:`.embeddings`), the text's static
  all-MiniLM-L6-v2 embedding (mean of distilled word-piece vectors, 256 dims, unit length,
  so it weighs like one of the L2-normalised TF-IDF blocks); without it the pipeline keeps
  to the features above, and the artifact records which feature blocks it was trained on;
* a multinomial logistic regression with balanced class weights (feedback is mostly
  positive; macro-F1 counts the rare neutral class as much as the others).

Every result is a :class:`~insights.analysis.sentiment.SentimentResult`: ``score`` is
P(positive) − P(negative), in −1..1, and ``label`` the most probable label the model was
trained on. A model trained on negative and positive labels only never says neutral.

Artifacts written by :func:`dump` are pickles: load only files this product wrote.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import platform
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits
from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer, SentiText

from . import embeddings as embedding_models
from . import sentiment
from .sentiment import FEEDBACK_LEXICON, SentimentResult

logger = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")
PIPELINE_NAME = "tfidf-lexicon-lr"

ARTIFACT_FORMAT = "focusloop-sentiment-model"
# Bump when the pickled classes or the features change: older files are then refused.
FORMAT_VERSION = 2
# Packages whose pickles or behaviour the artifact depends on; compared major.minor.
_VERSIONED_PACKAGES = ("scikit-learn", "numpy", "scipy", "vaderSentiment", "joblib")

# Past this many rows, n-grams seen once are dropped: they cost memory and seldom generalise.
_LARGE_TRAINING_SET = 5_000
_MAX_WORD_FEATURES = 300_000
_MAX_CHAR_FEATURES = 300_000
_C = 2.0
# Looser than the default 1e-4: the same benchmark scores in fewer iterations.
_TOLERANCE = 1e-3


class IncompatibleModelError(Exception):
    """The artifact is not a sentiment model this code can load (format or libraries differ)."""


# --- clauses ---------------------------------------------------------------------------

# Sentence ends, semicolons, line breaks and contrast words ("…, but …", "however").
_CLAUSE_BOUNDARY = re.compile(
    r"(?<=[.!?])\s+|\s*[;\n\r]+\s*|,?\s+\b(?:but|however|although|though|whereas)\b,?\s+",
    re.IGNORECASE,
)
_LEADING_CONTRAST = re.compile(r"^(?:but|however|although|though|whereas)\b[\s,]*", re.IGNORECASE)


def split_clauses(text: str) -> list[str]:
    """Sentences of ``text``, also cut at ";" and at "but", "however", "although",
    "though" and "whereas" (the contrast word itself is dropped)."""
    parts = _CLAUSE_BOUNDARY.split(text or "")
    clauses = [_LEADING_CONTRAST.sub("", part.strip(" \t,")) for part in parts]
    return [clause for clause in clauses if any(ch.isalnum() for ch in clause)]


# --- lexicon view ------------------------------------------------------------------------


class _ValenceRecordingAnalyzer(SentimentIntensityAnalyzer):
    """VADER, with :data:`FEEDBACK_LEXICON` added, that also keeps the per-word valences of
    the last text after its rules (negation, boosters, "but")."""

    def __init__(self):
        super().__init__()
        for word, valence in FEEDBACK_LEXICON.items():
            self.lexicon.setdefault(word, valence)

    def score_valence(self, sentiments, text):
        self.last_valences = list(sentiments)
        self.last_text = text  # as scored: emojis replaced by their descriptions
        return super().score_valence(sentiments, text)


# One analyzer per thread: it keeps the last text's valences on itself.
_per_thread = threading.local()


def _analyzer() -> _ValenceRecordingAnalyzer:
    analyzer = getattr(_per_thread, "analyzer", None)
    if analyzer is None:
        analyzer = _per_thread.analyzer = _ValenceRecordingAnalyzer()
    return analyzer


_RATING_IN_TEXT = re.compile(
    r"\b(\d{1,2}(?:\.\d)?)\s*(?:/|out of)\s*(10|5)\b|\b([0-5](?:\.5)?)\s*(?:stars?|\*)",
    re.IGNORECASE,
)
_NEGATIONS = {word.lower() for word in NEGATE} | {
    "no",
    "not",
    "never",
    "nothing",
    "without",
    "cannot",
    "hardly",
    "barely",
    "nor",
    "none",
}
_WORD_OR_PUNCT = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[.;:!?,]")


def _ratings_in(text: str) -> list[float]:
    values = []
    for match in _RATING_IN_TEXT.finditer(text):
        if match.group(1):
            value = float(match.group(1)) / float(match.group(2))
        else:
            value = float(match.group(3)) / 5
        if value <= 1:
            values.append(value)
    return values


def _negation_marked(text: str) -> str:
    """Lowercased words; those after a negation carry ``_NEG`` until the clause ends."""
    words = []
    negated = False
    for token in _WORD_OR_PUNCT.findall(text.lower()):
        if token in ".;:,":
            negated = False
        elif token in "!?":
            negated = False
            words.append(token)
        elif token in _NEGATIONS or token.endswith("n't"):
            negated = True
            words.append(token)
        else:
            words.append(token + "_NEG" if negated else token)
    return " ".join(words)


def _lexicon_view(text: str) -> tuple[str, list[float]]:
    """Pseudo-tokens and dense scores of the lexicon for one text.

    VADER runs clause by clause (its rules are quadratic in the words of a text, and the
    clause scores are features too); the whole text's scores are VADER's own aggregation
    of all the clauses' word valences."""
    analyzer = _analyzer()
    clauses = split_clauses(text) or [text]
    valences: list[float] = []
    clause_compounds = []
    tokens = []
    for clause in clauses:
        clause_compounds.append(analyzer.polarity_scores(clause)["compound"])
        clause_valences = analyzer.last_valences
        if any(clause_valences):
            words = SentiText(analyzer.last_text).words_and_emoticons
            for word, valence in zip(words, clause_valences, strict=False):
                if not valence:
                    continue
                prior = analyzer.lexicon.get(word.lower(), 0.0)
                strength = "3" if abs(valence) >= 2.5 else "2" if abs(valence) >= 1.5 else "1"
                flipped = "F" if prior * valence < 0 else ""
                tokens.append(("LEXP" if valence > 0 else "LEXN") + strength + flipped)
        valences.extend(clause_valences)
    scores = analyzer.score_valence(valences, text)
    ratings = _ratings_in(text)
    tokens += ["RATEHI" if r >= 0.7 else "RATELO" if r < 0.45 else "RATEMID" for r in ratings]

    positive = [v for v in valences if v > 0]
    negative = [v for v in valences if v < 0]
    n_words = max(len(valences), 1)
    compound = scores["compound"]
    dense = [
        compound,
        scores["pos"],
        scores["neg"],
        scores["neu"],
        math.tanh(sum(positive) / 4),
        math.tanh(sum(negative) / 4),
        len(positive) / n_words,
        len(negative) / n_words,
        max(positive, default=0.0) / 4,
        min(negative, default=0.0) / 4,
        min(clause_compounds),
        max(clause_compounds),
        clause_compounds[-1],
        clause_compounds[0],
        float(len(clauses) > 1),
        float(compound >= sentiment.POSITIVE_THRESHOLD),
        float(compound <= sentiment.NEGATIVE_THRESHOLD),
        float(sentiment.NEGATIVE_THRESHOLD < compound < sentiment.POSITIVE_THRESHOLD),
        math.log1p(len(valences)) / 4,
        float("!" in text),
        float("?" in text),
        float(sum(r >= 0.7 for r in ratings)),
        float(sum(r < 0.45 for r in ratings)),
    ]
    return " ".join(tokens), dense


class _Features:
    """Turns texts into the sparse matrix the classifier sees."""

    def __init__(self, *, min_df: int, embedder: embedding_models.StaticEmbedder | None = None):
        # Only the key is pickled; the table (30k × 256) is the installation's cached one.
        self.embedding_key = embedder.key if embedder is not None else None
        self._embedder = embedder
        common = {"sublinear_tf": True, "dtype": np.float32}
        self.words = TfidfVectorizer(
            preprocessor=_negation_marked,
            token_pattern=r"\S+",
            ngram_range=(1, 2),
            min_df=min_df,
            max_features=_MAX_WORD_FEATURES,
            **common,
        )
        self.chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 4),
            min_df=min_df,
            max_features=_MAX_CHAR_FEATURES,
            **common,
        )
        self.lexicon = TfidfVectorizer(
            token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2), **common
        )

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        pseudo, dense = self._lexicon(texts)
        blocks = [
            self._fit_block("words", texts),
            self._fit_block("chars", texts),
            self._fit_block("lexicon", pseudo),
            sp.csr_matrix(dense),
            self._embedding_block(texts),
        ]
        return sp.hstack(blocks, format="csr")

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        pseudo, dense = self._lexicon(texts)
        blocks = [
            self._block("words", texts),
            self._block("chars", texts),
            self._block("lexicon", pseudo),
            sp.csr_matrix(dense),
            self._embedding_block(texts),
        ]
        return sp.hstack(blocks, format="csr")

    @property
    def names(self) -> list[str]:
        """The feature blocks in use, in column order."""
        names = [name for name in ("words", "chars", "lexicon") if getattr(self, name) is not None]
        names.append("lexicon_scores")
        if self.embedding_key is not None:
            names.append("static_embeddings")
        return names

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_embedder"] = None
        return state

    def embedder(self) -> embedding_models.StaticEmbedder | None:
        """The static embedder this pipeline was trained with (loaded on first use);
        raises ``EmbeddingModelUnavailable`` when it is no longer installed."""
        if self.embedding_key is None:
            return None
        if self._embedder is None:
            self._embedder = embedding_models.static_embedder(key=self.embedding_key)
        return self._embedder

    def _embedding_block(self, texts: Sequence[str]) -> sp.csr_matrix:
        embedder = self.embedder()
        if embedder is None:
            return sp.csr_matrix((len(texts), 0), dtype=np.float32)
        return sp.csr_matrix(embedder.encode(texts))

    def _fit_block(self, name: str, documents: Sequence[str]) -> sp.csr_matrix:
        vectorizer = getattr(self, name)
        try:
            matrix = vectorizer.fit_transform(documents)
        except ValueError:
            # No term survived (no lexicon word in any text, a single-character corpus…):
            # the block is left out rather than failing the whole training.
            setattr(self, name, None)
            return sp.csr_matrix((len(documents), 0), dtype=np.float32)
        # The pruned vocabulary is only kept for introspection; it would bloat the artifact.
        if hasattr(vectorizer, "stop_words_"):
            del vectorizer.stop_words_
        return matrix

    def _block(self, name: str, documents: Sequence[str]) -> sp.csr_matrix:
        vectorizer = getattr(self, name)
        if vectorizer is None:
            return sp.csr_matrix((len(documents), 0), dtype=np.float32)
        return vectorizer.transform(documents)

    @staticmethod
    def _lexicon(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        views = [_lexicon_view(text) for text in texts]
        pseudo = [tokens for tokens, _ in views]
        dense = np.asarray([values for _, values in views], dtype=np.float32)
        return pseudo, dense.reshape(len(views), -1)


# --- models ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseScore:
    text: str
    score: float


@dataclass(frozen=True)
class MixedResult:
    """A text's overall sentiment and its most positive and most negative clause.

    ``positive`` / ``negative`` are None when no clause has that label; a text with both is
    mixed feedback ("Delivery was fast but the app crashes")."""

    overall: SentimentResult
    positive: ClauseScore | None
    negative: ClauseScore | None

    @property
    def is_mixed(self) -> bool:
        return self.positive is not None and self.negative is not None


@runtime_checkable
class SentimentScorer(Protocol):
    """What the analysis worker needs from whichever model is active."""

    name: str

    def predict(self, texts: list[str]) -> list[SentimentResult]: ...

    def score_sentences(self, text: str) -> MixedResult: ...

    def score_sentences_many(self, texts: list[str]) -> list[MixedResult]: ...


class _ClauseScoring:
    """``score_sentences`` for any model that has ``predict``: one call scores all clauses."""

    def predict(self, texts: list[str]) -> list[SentimentResult]:
        raise NotImplementedError

    def score_sentences(self, text: str) -> MixedResult:
        return self.score_sentences_many([text])[0]

    def score_sentences_many(self, texts: list[str]) -> list[MixedResult]:
        clause_lists = [split_clauses(text) for text in texts]
        batch = list(texts)
        for clauses in clause_lists:
            batch.extend(clauses)
        results = self.predict(batch)
        mixed = []
        offset = len(texts)
        for overall, clauses in zip(results[: len(texts)], clause_lists, strict=True):
            scored = list(zip(clauses, results[offset : offset + len(clauses)], strict=True))
            offset += len(clauses)
            positives = [(c, r.score) for c, r in scored if r.label == "positive"]
            negatives = [(c, r.score) for c, r in scored if r.label == "negative"]
            best = max(positives, key=lambda item: item[1], default=None)
            worst = min(negatives, key=lambda item: item[1], default=None)
            mixed.append(
                MixedResult(
                    overall=overall,
                    positive=ClauseScore(*best) if best else None,
                    negative=ClauseScore(*worst) if worst else None,
                )
            )
        return mixed


class LexiconSentimentModel(_ClauseScoring):
    """The cold-start model (VADER plus :data:`FEEDBACK_LEXICON`) behind the same interface
    as a trained one."""

    name = sentiment.MODEL_NAME
    labels = LABELS

    def predict(self, texts: list[str]) -> list[SentimentResult]:
        return sentiment.score_texts([_as_text(t) for t in texts])


class PlainVaderModel(_ClauseScoring):
    """VADER with its own lexicon only: the published baseline benchmarks compare against."""

    name = sentiment.PLAIN_VADER_NAME
    labels = LABELS

    def predict(self, texts: list[str]) -> list[SentimentResult]:
        return sentiment.score_texts_plain_vader([_as_text(t) for t in texts])


class TrainedSentimentModel(_ClauseScoring):
    """A fitted pipeline. Build it with :func:`train`; save with :func:`dump`."""

    name = PIPELINE_NAME

    def __init__(self, *, features: _Features, classifier: LogisticRegression, n_train: int):
        self._features = features
        self._classifier = classifier
        self.n_train = n_train
        self.labels: tuple[str, ...] = tuple(str(c) for c in classifier.classes_)
        self.versions = library_versions()

    @property
    def feature_blocks(self) -> list[str]:
        return self._features.names

    @property
    def embedding_model(self) -> str | None:
        """Key of the static embeddings used (see :func:`embeddings.model_key`), or None."""
        return self._features.embedding_key

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities, one column per label of ``self.labels``."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        matrix = self._features.transform([_as_text(t) for t in texts])
        return self._classifier.predict_proba(matrix)

    def predict(self, texts: list[str]) -> list[SentimentResult]:
        probabilities = self.predict_proba(texts)
        positive = self._column("positive")
        negative = self._column("negative")
        results = []
        for row in probabilities:
            score = (row[positive] if positive is not None else 0.0) - (
                row[negative] if negative is not None else 0.0
            )
            score = max(-1.0, min(1.0, float(score)))
            results.append(SentimentResult(score=score, label=self.labels[int(row.argmax())]))
        return results

    def _column(self, label: str) -> int | None:
        return self.labels.index(label) if label in self.labels else None


def _as_text(value) -> str:
    return "" if value is None else str(value)


def train(
    texts: list[str],
    labels: list[str],
    *,
    random_state: int = 0,
    embeddings: bool | None = None,
) -> TrainedSentimentModel:
    """Fit the product's pipeline on labelled texts.

    ``labels`` are values of :data:`LABELS`; at least two distinct labels are needed
    (negative/positive alone gives a binary model). Raises ``ValueError`` on empty input,
    mismatched lengths, unknown labels or a single label. Single-threaded.

    ``embeddings``: None (default) adds the static embeddings when the embedding model is
    installed and keeps to the other features when it is not; False never uses them; True
    requires them (``EmbeddingModelUnavailable`` otherwise). The first use on an
    installation distils the static table (about a minute, then cached).
    """
    texts = [_as_text(t) for t in texts]
    labels = list(labels)
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("no training rows")
    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown labels {unknown}; expected some of {list(LABELS)}")
    if len(set(labels)) < 2:
        raise ValueError(f"need at least two different labels, got only {sorted(set(labels))}")
    embedder = None
    if embeddings is not False:
        try:
            embedder = embedding_models.static_embedder()
        except embedding_models.EmbeddingModelUnavailable as exc:
            if embeddings:
                raise
            if embedding_models.model_dir() is not None:  # installed but unusable: say so
                logger.warning("training without embeddings: %s", exc)
    features = _Features(min_df=2 if len(texts) >= _LARGE_TRAINING_SET else 1, embedder=embedder)
    matrix = features.fit_transform(texts)
    classifier = LogisticRegression(
        C=_C, class_weight="balanced", tol=_TOLERANCE, max_iter=3000, random_state=random_state
    )
    # Training shares the machine with the web and analysis workers: one BLAS thread.
    with threadpool_limits(limits=1):
        classifier.fit(matrix, labels)
    return TrainedSentimentModel(features=features, classifier=classifier, n_train=len(texts))


# --- evaluation --------------------------------------------------------------------------


def evaluate(model: SentimentScorer, texts: list[str], labels: list[str]) -> dict:
    """Accuracy and macro-F1 of ``model`` on labelled texts, and its scoring throughput.

    Macro-F1 averages over the labels present in ``labels`` (a label the model predicts
    but the data lacks counts as an error, not as a class). Returns
    ``{"accuracy", "macro_f1", "n", "texts_per_s"}``.
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if not texts:
        raise ValueError("no rows to evaluate")
    started = time.perf_counter()
    predicted = [result.label for result in model.predict(list(texts))]
    elapsed = time.perf_counter() - started
    present = [label for label in LABELS if label in set(labels)] or sorted(set(labels))
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "macro_f1": float(
            f1_score(labels, predicted, labels=present, average="macro", zero_division=0)
        ),
        "n": len(texts),
        "texts_per_s": len(texts) / elapsed if elapsed > 0 else float("inf"),
    }


# --- artifacts ---------------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "missing"
    return versions


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def dump(model: TrainedSentimentModel, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` (joblib, compressed) and return the path.

    The file starts with a small header (format, format version, library versions) that
    :func:`load` checks before it unpickles the model. Written to a temporary file and
    renamed, so a worker never reads half a file.
    """
    if not isinstance(model, TrainedSentimentModel):
        raise TypeError(f"expected a TrainedSentimentModel, got {type(model).__name__}")
    path = Path(path)
    header = {
        "format": ARTIFACT_FORMAT,
        "format_version": FORMAT_VERSION,
        "pipeline": PIPELINE_NAME,
        "labels": list(model.labels),
        "n_train": model.n_train,
        "features": model.feature_blocks,
        "embedding_model": model.embedding_model,
        "versions": library_versions(),
    }
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(header, handle, protocol=pickle.HIGHEST_PROTOCOL)
        joblib.dump(model, handle, compress=3)
    os.replace(temporary, path)
    return path


def read_header(path: str | os.PathLike) -> dict:
    """The artifact's header without loading the model. Raises ``IncompatibleModelError``
    when the file is not a FocusLoop sentiment artifact, ``OSError`` when it cannot be read."""
    with open(path, "rb") as handle:
        return _read_header(handle, path)


def _read_header(handle, path) -> dict:
    try:
        header = pickle.load(handle)
    except Exception as exc:
        raise IncompatibleModelError(f"{path} is not a sentiment model artifact") from exc
    if not isinstance(header, dict) or header.get("format") != ARTIFACT_FORMAT:
        raise IncompatibleModelError(f"{path} is not a sentiment model artifact")
    return header


def incompatibilities(header: dict) -> list[str]:
    """Why an artifact with this header cannot be loaded here; empty when it can."""
    problems = []
    if header.get("format_version") != FORMAT_VERSION:
        problems.append(
            f"format version {header.get('format_version')} (this code reads {FORMAT_VERSION})"
        )
    saved = header.get("versions") or {}
    current = library_versions()
    for package in _VERSIONED_PACKAGES:
        if _major_minor(str(saved.get(package))) != _major_minor(current[package]):
            problems.append(f"{package} {saved.get(package)} (installed {current[package]})")
    needed = header.get("embedding_model")
    if needed:
        directory = embedding_models.model_dir()
        if directory is None:
            problems.append(f"embeddings {needed} (the embedding model is not installed)")
        elif embedding_models.model_key(directory) != needed:
            installed = embedding_models.model_key(directory)
            problems.append(f"embeddings {needed} (installed {installed})")
    return problems


def load(path: str | os.PathLike) -> TrainedSentimentModel:
    """Read a model written by :func:`dump`.

    Raises ``IncompatibleModelError`` when the file is not such an artifact, was written
    by another format version, with another major.minor version of scikit-learn, numpy,
    scipy, vaderSentiment or joblib, or with embeddings that are not installed here (retrain
    instead); ``OSError`` when it cannot be read.
    """
    with open(path, "rb") as handle:
        header = _read_header(handle, path)
        problems = incompatibilities(header)
        if problems:
            raise IncompatibleModelError(
                f"{path} cannot be loaded: written with " + "; ".join(problems)
            )
        model = joblib.load(handle)
    if not isinstance(model, TrainedSentimentModel):
        raise IncompatibleModelError(f"{path} does not hold a TrainedSentimentModel")
    try:
        model._features.embedder()  # fail here, not on the first batch to score
    except embedding_models.EmbeddingModelUnavailable as exc:
        raise IncompatibleModelError(f"{path} cannot be loaded: {exc}") from exc
    return model
