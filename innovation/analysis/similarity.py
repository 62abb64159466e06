"""Text similarity for the idea backlog: "find similar" feedback and duplicate ideas.

ORM-free. Uses the static MiniLM sentence embeddings of :mod:`insights.analysis.embeddings`
when the model is installed and its distilled table is already cached (distilling takes
about a minute, too long for a page); otherwise TF-IDF cosine over words and bigrams.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from insights.analysis import embeddings

METHOD_EMBEDDINGS = "embeddings"
METHOD_TFIDF = "tfidf"


def _cached_embedder() -> embeddings.StaticEmbedder | None:
    if not embeddings.available():
        return None
    try:
        key = embeddings.model_key()
        if (
            key not in embeddings._tables
            and not (embeddings.default_cache_dir() / f"{key}.npy").is_file()
        ):
            return None
        return embeddings.static_embedder()
    except (embeddings.EmbeddingModelUnavailable, OSError):
        return None


def _tfidf_scores(queries: Sequence[str], candidates: Sequence[str]) -> np.ndarray:
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, stop_words="english", min_df=1
    )
    try:
        matrix = vectorizer.fit_transform([*queries, *candidates])
    except ValueError:  # nothing but stop words
        return np.zeros(len(candidates))
    query = np.asarray(matrix[: len(queries)].mean(axis=0)).ravel()
    norm = np.linalg.norm(query)
    if norm == 0:
        return np.zeros(len(candidates))
    return np.asarray(matrix[len(queries) :] @ (query / norm)).ravel()


def similarity_scores(
    queries: Sequence[str], candidates: Sequence[str], *, method: str | None = None
) -> tuple[np.ndarray, str]:
    """Cosine similarity (0..1) of each candidate to the centroid of ``queries``.

    Returns the scores, in candidate order, and the method used."""
    if not candidates or not any(q.strip() for q in queries):
        return np.zeros(len(candidates)), method or METHOD_TFIDF
    embedder = _cached_embedder() if method in (None, METHOD_EMBEDDINGS) else None
    if embedder is None:
        return np.clip(_tfidf_scores(queries, candidates), 0, 1), METHOD_TFIDF
    query = embedder.encode(list(queries)).mean(axis=0)
    norm = np.linalg.norm(query)
    if norm == 0:
        return np.zeros(len(candidates)), METHOD_EMBEDDINGS
    scores = embedder.encode(list(candidates)) @ (query / norm)
    return np.clip(scores, 0, 1), METHOD_EMBEDDINGS


def top_matches(
    queries: Sequence[str],
    candidates: Sequence[str],
    *,
    limit: int,
    min_score: float = 0.0,
    method: str | None = None,
) -> list[tuple[int, float]]:
    """(candidate index, score) of the best ``limit`` candidates above ``min_score``."""
    scores, _ = similarity_scores(queries, candidates, method=method)
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(i), float(scores[i])) for i in order if scores[i] > min_score]
