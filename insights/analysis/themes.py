"""Theme discovery over feedback texts, ORM-free: plain texts in, plain data out.

The pipeline (chosen by measurement, see docs/themes.md):

* texts are cleaned of what says nothing about the topic in customer text: @handles,
  links, e-mail addresses, numbers, HTML entities;
* word 1–2-grams (TF-IDF, sublinear tf, English and feedback stop words, ``min_df``
  relative to the corpus size) and character 2–4-grams inside words (catch inflections
  and misspellings: "delayed" / "delay" / "delays"), each block L2-normalised and
  weighted, then joined;
* latent semantic analysis (TruncatedSVD) to a few dozen dimensions, rows normalised
  again, so cosine similarity is a dot product;
* when the optional MiniLM package is installed, a semantic block joins the LSA vector with
  equal weight: a sample of the texts (at most :data:`SEMANTIC_SAMPLE`) is embedded by the
  contextual all-MiniLM-L6-v2 (:class:`embeddings.MiniLMEncoder`), and a ridge map from
  [LSA vector, static MiniLM embedding] to that contextual embedding is fitted on it. Every
  text — in discovery and in later assignment — gets the block from the map, so assignment
  never runs the transformer (the static embedding runs at tens of thousands of texts per
  second). Texts that say the same in different words come closer than TF-IDF alone puts
  them. Without the package the pipeline is the LSA one alone;
* k-means on the unit vectors (spherical k-means in effect), several seeded starts;
  without an explicit ``k`` the number of themes is chosen over a bounded range by the
  silhouette (cosine) with a penalty against tiny clusters.

Each theme is named by its top terms (the highest mean TF-IDF words of its members,
against the corpus), keeps its centroid for incremental assignment and the three members
nearest the centre as representative quotes. A text may belong to several themes: every
theme whose centroid lies within ``threshold`` cosine of it, best first.

A :class:`ThemeSpace` is what a service stores (joblib): it turns new texts into the same
vectors, so new feedback is assigned without discovering again.
"""

from __future__ import annotations

import html
import logging
import os
import pickle
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from insights.analysis import embeddings

logger = logging.getLogger(__name__)

PIPELINE_NAME = "tfidf-lsa-kmeans"
SEMANTIC_PIPELINE_NAME = "tfidf-lsa-minilm-kmeans"
ARTIFACT_FORMAT = "focusloop-theme-space"
# 1: LSA only. 2: with a semantic block (needs the same embedding model to be loaded).
FORMAT_VERSION = 1
SEMANTIC_FORMAT_VERSION = 2

# Texts embedded by the contextual model to fit the semantic map: bounds what the
# transformer adds to a discovery (it runs at tens to a few hundred texts per second).
SEMANTIC_SAMPLE = 600
# Fewer informative texts than this in the sample: no semantic block.
SEMANTIC_MIN_SAMPLE = 20
SEMANTIC_WEIGHT = 1.0  # relative to the unit-length LSA block
SEMANTIC_RIDGE_ALPHA = 1.0

# Fewer texts than this are not enough to tell themes apart: discovery refuses them.
MIN_TEXTS = 50
MAX_THEMES = 30
QUOTES_PER_THEME = 3
TOP_TERMS = 6
# Cosine to a centroid from which a text counts as belonging to that theme.
DEFAULT_THRESHOLD = 0.35
MAX_THEMES_PER_TEXT = 3

# Words that occur in any kind of feedback and tell nothing about its topic.
FEEDBACK_STOP_WORDS = frozenset(
    """
    thanks thank thx pls please plz hi hello hey dear ok okay yes yeah yep just really
    very much lot lots got get gets getting guys u ur im ive dont didnt cant wont isnt
    doesnt wasnt youre amp http https www com rt dm via today tomorrow yesterday
    one two also still even would could should will can may might us let know like
    """.split()
)
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | FEEDBACK_STOP_WORDS)

_HANDLE = re.compile(r"(?<!\w)@\w+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_NUMBER = re.compile(r"\b\d+(?:[.,:]\d+)*(?:st|nd|rd|th|am|pm|h|hrs?|min|mins|k)?\b", re.IGNORECASE)
_HASHTAG = re.compile(r"#(\w+)")
_APOSTROPHE = re.compile(r"[’']")


class TooFewTextsError(ValueError):
    """Discovery needs at least :data:`MIN_TEXTS` non-empty texts."""


class IncompatibleThemeSpaceError(Exception):
    """The artifact is not a theme space this code can load."""


def semantic_text(text: str) -> str:
    """What the sentence model reads: the text without links, addresses and @handles."""
    text = html.unescape(text or "")
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    return " ".join(text.split())


def clean(text: str) -> str:
    """The topical part of a feedback text, lowercased."""
    text = html.unescape(text or "")
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASHTAG.sub(r"\1", text)
    text = _APOSTROPHE.sub("", text)
    text = _NUMBER.sub(" ", text)
    return text.lower()


@dataclass
class SemanticBlock:
    """A linear map [LSA vector, static MiniLM embedding] → contextual MiniLM embedding,
    fitted on a sample of the discovery texts; gives any text a semantic block cheaply."""

    key: str  # embeddings.model_key() of the static table the map was fitted with
    coef: np.ndarray  # (384, lsa dimensions + static dimensions), float32
    intercept: np.ndarray  # (384,), float32
    weight: float = SEMANTIC_WEIGHT
    n_sample: int = 0

    @property
    def dimensions(self) -> int:
        return int(self.coef.shape[0])

    def vectors(self, lsa: np.ndarray, cleaned: Sequence[str]) -> np.ndarray:
        """The semantic block (rows of length ``weight``) of texts with LSA vectors ``lsa``
        and :func:`clean` forms ``cleaned``; zero where the LSA vector is zero (a text about
        nothing the themes know)."""
        static = embeddings.static_embedder(key=self.key).encode(list(cleaned))
        with threadpool_limits(1):
            block = np.hstack([lsa, static]).astype(np.float32) @ self.coef.T + self.intercept
        block = normalize(block) * np.float32(self.weight)
        block[np.linalg.norm(lsa, axis=1) == 0] = 0.0
        return block.astype(np.float32)


@dataclass
class ThemeSpace:
    """Fitted vectorizers and LSA (and the optional semantic block): texts → unit vectors
    where themes live."""

    words: TfidfVectorizer
    chars: TfidfVectorizer | None
    svd: TruncatedSVD | None
    char_weight: float
    n_fitted: int
    # None: LSA only (also every space written before the block existed — the class
    # default is what unpickling an older space finds).
    semantic: SemanticBlock | None = None

    def sparse(
        self, texts: Sequence[str], *, cleaned: Sequence[str] | None = None
    ) -> sp.csr_matrix:
        """The weighted TF-IDF rows of ``texts`` (``cleaned``: their :func:`clean` forms,
        when the caller has them already)."""
        if cleaned is None:
            cleaned = [clean(text) for text in texts]
        words = self.words.transform(cleaned)
        blocks = [normalize(words)]
        if self.chars is not None:
            chars = normalize(self.chars.transform(cleaned)) * self.char_weight
            # A text without a single known word is about nothing the themes know: its
            # character n-grams alone ("zz", "qq") must not place it in a theme.
            unknown = np.flatnonzero(np.diff(words.indptr) == 0)
            if len(unknown):
                chars = (
                    sp.diags(
                        np.isin(np.arange(chars.shape[0]), unknown, invert=True).astype(np.float32)
                    )
                    @ chars
                )
            blocks.append(chars)
        return sp.hstack(blocks, format="csr")

    def lsa(self, texts: Sequence[str], *, cleaned: Sequence[str] | None = None) -> np.ndarray:
        """The unit LSA vectors of ``texts`` (zero rows for texts without known terms)."""
        matrix = self.sparse(texts, cleaned=cleaned)
        if self.svd is not None:
            with threadpool_limits(1):
                dense = self.svd.transform(matrix)
        else:
            dense = matrix.toarray()
        return normalize(dense).astype(np.float32)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self.semantic is None or len(texts) == 0:
            return self.lsa(texts)
        # Cleaned once for both blocks (a text is cleaned for every batch it is assigned in).
        cleaned = [clean(text) for text in texts]
        lsa = self.lsa(texts, cleaned=cleaned)
        joined = np.hstack([lsa, self.semantic.vectors(lsa, cleaned)])
        return normalize(joined).astype(np.float32)

    @property
    def lsa_dimensions(self) -> int:
        if self.svd is not None:
            return int(self.svd.n_components)
        return len(self.words.vocabulary_) + (len(self.chars.vocabulary_) if self.chars else 0)

    @property
    def dimensions(self) -> int:
        extra = self.semantic.dimensions if self.semantic is not None else 0
        return self.lsa_dimensions + extra


@dataclass
class DiscoveredTheme:
    top_terms: list[str]
    centroid: list[float]
    # Indices (into the input texts) of the members nearest the centre, nearest first.
    quotes: list[int]
    size: int

    @property
    def name(self) -> str:
        return theme_name(self.top_terms)


@dataclass
class Discovery:
    space: ThemeSpace
    themes: list[DiscoveredTheme]
    # Per input text: (theme index, cosine) pairs above the threshold, best first.
    assignments: list[list[tuple[int, float]]]
    # The single nearest theme of every text (what NMI/ARI are measured on).
    labels: list[int]
    k: int
    chosen_by: str
    scores: dict[int, float] = field(default_factory=dict)
    seconds: float = 0.0


def pipeline_name(space: ThemeSpace) -> str:
    """The pipeline that fitted ``space``, as recorded with a theme model."""
    return PIPELINE_NAME if getattr(space, "semantic", None) is None else SEMANTIC_PIPELINE_NAME


def theme_name(top_terms: Sequence[str], *, words: int = 3) -> str:
    return " · ".join(top_terms[:words]) if top_terms else "(unnamed)"


# --- fitting -----------------------------------------------------------------------------


def fit_space(
    texts: Sequence[str],
    *,
    random_state: int = 0,
    components: int | None = None,
    semantic_sample: int | None = None,
) -> ThemeSpace:
    """Fit the vectorizers and LSA on ``texts``, and the semantic block when the embedding
    model is installed (``semantic_sample``: texts embedded by the contextual model, default
    :data:`SEMANTIC_SAMPLE`; 0 leaves the block out)."""
    n = len(texts)
    cleaned = [clean(text) for text in texts]
    # A term must recur to describe a theme: in at least 2 texts on small corpora, about
    # 0.2 % of them on large ones (drops typos and one-off names without losing rare topics).
    min_df = max(2, int(n * 0.002))
    max_df = 0.5 if n >= 200 else 0.9
    words = TfidfVectorizer(
        ngram_range=(1, 2),
        stop_words=STOP_WORDS,
        token_pattern=r"(?u)\b[a-z][a-z]+\b",
        sublinear_tf=True,
        min_df=min_df,
        max_df=max_df,
        max_features=50_000,
        dtype=np.float32,
    )
    try:
        word_matrix = words.fit_transform(cleaned)
    except ValueError as exc:
        raise TooFewTextsError("The texts share too few words to find themes in.") from exc
    words.stop_words_ = None
    chars = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        sublinear_tf=True,
        min_df=min_df,
        max_df=max_df,
        max_features=80_000,
        dtype=np.float32,
        preprocessor=_without_stop_words,
    )
    try:
        char_matrix = chars.fit_transform(cleaned)
        chars.stop_words_ = None
    except ValueError:
        chars, char_matrix = None, None
    # Character n-grams weigh more than words: short, misspelt feedback shares more
    # word pieces than whole words.
    char_weight = 1.5
    blocks = [normalize(word_matrix)]
    if char_matrix is not None:
        blocks.append(normalize(char_matrix) * char_weight)
    matrix = sp.hstack(blocks, format="csr")
    svd = None
    if components is None:
        # Short feedback needs few latent dimensions; more only add noise to the distances.
        components = int(np.clip(n // 16, 10, 100))
    n_components = min(components, matrix.shape[1] - 1, n - 1)
    if n_components >= 2:
        svd = TruncatedSVD(n_components=n_components, random_state=random_state, n_iter=7)
        with threadpool_limits(1):
            svd.fit(matrix)
    space = ThemeSpace(words=words, chars=chars, svd=svd, char_weight=char_weight, n_fitted=n)
    sample = SEMANTIC_SAMPLE if semantic_sample is None else semantic_sample
    if sample > 0 and embeddings.available():
        try:
            space.semantic = _fit_semantic(
                space, texts, cleaned, sample=sample, random_state=random_state
            )
        except (embeddings.EmbeddingModelUnavailable, OSError, ValueError, KeyError):
            # Unreadable or partial model files: discovery goes on with LSA alone.
            logger.warning("embedding model unusable; themes use LSA alone", exc_info=True)
    return space


def _fit_semantic(
    space: ThemeSpace,
    texts: Sequence[str],
    cleaned: Sequence[str],
    *,
    sample: int,
    random_state: int,
) -> SemanticBlock | None:
    """Ridge map [LSA, static embedding] → contextual embedding, on a seeded sample of the
    informative texts (the contextual model runs on the sample only)."""
    from sklearn.linear_model import Ridge

    lsa = space.lsa(texts, cleaned=cleaned)
    informative = np.flatnonzero(np.linalg.norm(lsa, axis=1) > 0)
    if len(informative) < SEMANTIC_MIN_SAMPLE:
        return None
    rng = np.random.default_rng(random_state)
    if len(informative) > sample:
        informative = np.sort(rng.choice(informative, sample, replace=False))
    chosen = [texts[i] for i in informative]
    static_embedder = embeddings.static_embedder()
    encoder = embeddings.MiniLMEncoder()
    # One BLAS thread, as the rest of discovery: it shares the machine with the workers.
    with threadpool_limits(1):
        target = encoder.encode([semantic_text(t) for t in chosen])
        features = np.hstack(
            [lsa[informative], static_embedder.encode([cleaned[i] for i in informative])]
        )
        # Centred: sentence embeddings of one domain's feedback share a large common
        # direction, which would make every text look close to every theme.
        ridge = Ridge(alpha=SEMANTIC_RIDGE_ALPHA).fit(features, target - target.mean(axis=0))
    return SemanticBlock(
        key=static_embedder.key,
        coef=np.asarray(ridge.coef_, dtype=np.float32),
        intercept=np.asarray(ridge.intercept_, dtype=np.float32),
        n_sample=len(chosen),
    )


_STOP_SET = frozenset(STOP_WORDS)
_WORD = re.compile(r"[a-z][a-z]+")


def _without_stop_words(text: str) -> str:
    return " ".join(word for word in _WORD.findall(text) if word not in _STOP_SET)


def _kmeans(vectors: np.ndarray, k: int, *, random_state: int, n_init: int = 4) -> KMeans:
    with threadpool_limits(1):
        return KMeans(n_clusters=k, n_init=n_init, random_state=random_state, max_iter=200).fit(
            vectors
        )


def candidate_ks(n: int) -> list[int]:
    """The numbers of themes tried without an explicit k: 3 up to about √(n/2), ≤ 30."""
    upper = int(min(MAX_THEMES, max(4, round((n / 2) ** 0.5))))
    return list(range(3, upper + 1))


def _choose_k(
    vectors: np.ndarray, ks: Sequence[int], *, random_state: int, budget_seconds: float
) -> tuple[int, dict[int, float]]:
    """The k with the best size-penalised cosine silhouette, within a time budget."""
    rng = np.random.default_rng(random_state)
    sample = vectors
    if len(vectors) > 3000:
        sample = vectors[rng.choice(len(vectors), 3000, replace=False)]
    started = time.perf_counter()
    scores: dict[int, float] = {}
    for k in ks:
        if k >= len(sample):
            break
        fitted = _kmeans(sample, k, random_state=random_state, n_init=2)
        labels = fitted.labels_
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(sample, labels, metric="cosine")
        # Clusters of a handful of texts make the silhouette look good and a codebook bad.
        sizes = np.bincount(labels, minlength=k)
        tiny = float(np.mean(sizes < max(3, 0.01 * len(sample))))
        scores[k] = float(score) - 0.1 * tiny
        if time.perf_counter() - started > budget_seconds:
            break
    if not scores:
        return min(ks), scores
    best = max(scores.values())
    # Prefer more themes among near-ties: a codebook is easier to merge than to split.
    chosen = max(k for k, score in scores.items() if score >= best - 0.005)
    return chosen, scores


def discover(
    texts: Sequence[str],
    *,
    k: int | None = None,
    random_state: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    budget_seconds: float = 60.0,
    semantic_sample: int | None = None,
) -> Discovery:
    """Find themes in ``texts``. Deterministic for a ``random_state`` (and the installed
    embedding model, when there is one: see :func:`fit_space` for ``semantic_sample``).

    Raises :class:`TooFewTextsError` for fewer than :data:`MIN_TEXTS` non-empty texts,
    ``ValueError`` for a ``k`` outside 2..:data:`MAX_THEMES` or above a tenth of the texts.
    """
    started = time.perf_counter()
    texts = [text or "" for text in texts]
    if sum(1 for text in texts if text.strip()) < MIN_TEXTS:
        raise TooFewTextsError(
            f"Theme discovery needs at least {MIN_TEXTS} feedback texts; got {len(texts)}."
        )
    if k is not None and not 2 <= k <= min(MAX_THEMES, len(texts) // 10 or 2):
        raise ValueError(
            f"k must be between 2 and {min(MAX_THEMES, max(2, len(texts) // 10))} for "
            f"{len(texts)} texts."
        )
    space = fit_space(texts, random_state=random_state, semantic_sample=semantic_sample)
    vectors = space.transform(texts)
    informative = np.linalg.norm(vectors, axis=1) > 0
    if k is None:
        k, scores = _choose_k(
            vectors[informative],
            candidate_ks(int(informative.sum())),
            random_state=random_state,
            budget_seconds=budget_seconds,
        )
        chosen_by = "silhouette"
    else:
        scores, chosen_by = {}, "given"
    fitted = _kmeans(vectors[informative], k, random_state=random_state, n_init=8)
    centroids = normalize(fitted.cluster_centers_).astype(np.float32)
    similarity = vectors @ centroids.T
    labels = similarity.argmax(axis=1)
    terms = _top_terms(space, texts, labels, k)
    themes: list[DiscoveredTheme] = []
    for index in range(k):
        members = np.flatnonzero(labels == index)
        nearest = members[np.argsort(-similarity[members, index], kind="stable")]
        quotes = _distinct_quotes(texts, nearest, QUOTES_PER_THEME)
        themes.append(
            DiscoveredTheme(
                top_terms=terms[index],
                centroid=[round(float(v), 6) for v in centroids[index]],
                quotes=quotes,
                size=int(len(members)),
            )
        )
    assignments = assign_vectors(vectors, centroids, threshold=threshold)
    return Discovery(
        space=space,
        themes=themes,
        assignments=assignments,
        labels=[int(label) for label in labels],
        k=k,
        chosen_by=chosen_by,
        scores=scores,
        seconds=time.perf_counter() - started,
    )


def _distinct_quotes(texts: Sequence[str], ordered: np.ndarray, count: int) -> list[int]:
    chosen: list[int] = []
    seen: set[str] = set()
    for index in ordered:
        key = clean(texts[index]).strip()
        if key and key not in seen:
            seen.add(key)
            chosen.append(int(index))
        if len(chosen) == count:
            break
    return chosen


def _top_terms(
    space: ThemeSpace, texts: Sequence[str], labels: np.ndarray, k: int
) -> list[list[str]]:
    """Each cluster's words with the highest mean TF-IDF over the corpus mean (lift)."""
    matrix = normalize(space.words.transform([clean(text) for text in texts]))
    vocabulary = np.asarray(space.words.get_feature_names_out())
    overall = np.asarray(matrix.mean(axis=0)).ravel() + 1e-9
    result = []
    for index in range(k):
        rows = matrix[labels == index]
        if rows.shape[0] == 0:
            result.append([])
            continue
        mean = np.asarray(rows.mean(axis=0)).ravel()
        # Mean weight in the cluster, sharpened by how specific the term is to it.
        score = mean * np.sqrt(mean / overall)
        order = np.argsort(-score, kind="stable")
        picked: list[str] = []
        for term_index in order:
            if score[term_index] <= 0:
                break
            term = str(vocabulary[term_index])
            # Skip a unigram already inside a chosen bigram and vice versa.
            if any(term in chosen.split() or chosen in term.split() for chosen in picked):
                continue
            picked.append(term)
            if len(picked) == TOP_TERMS:
                break
        result.append(picked)
    return result


# --- assignment --------------------------------------------------------------------------


def assign_vectors(
    vectors: np.ndarray,
    centroids: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_themes: int = MAX_THEMES_PER_TEXT,
) -> list[list[tuple[int, float]]]:
    """Per vector: the (centroid index, cosine) pairs at or above ``threshold``, best first."""
    if len(centroids) == 0 or len(vectors) == 0:
        return [[] for _ in range(len(vectors))]
    similarity = vectors @ np.asarray(centroids, dtype=np.float32).T
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :max_themes]
    result = []
    for row, columns in enumerate(order):
        result.append(
            [
                (int(column), round(float(similarity[row, column]), 4))
                for column in columns
                if similarity[row, column] >= threshold
            ]
        )
    return result


def assign(
    space: ThemeSpace,
    centroids: np.ndarray,
    texts: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_themes: int = MAX_THEMES_PER_TEXT,
) -> list[list[tuple[int, float]]]:
    """Assign new texts to existing centroids without discovering again."""
    if not texts:
        return []
    return assign_vectors(
        space.transform(texts),
        np.asarray(centroids, dtype=np.float32),
        threshold=threshold,
        max_themes=max_themes,
    )


def centroid_of(space: ThemeSpace, texts: Sequence[str]) -> list[float] | None:
    """The unit mean vector of ``texts`` in ``space`` (an existing theme re-expressed)."""
    if not texts:
        return None
    vectors = space.transform(texts)
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm == 0:
        return None
    return [round(float(v), 6) for v in mean / norm]


def match_themes(
    existing: np.ndarray, discovered: np.ndarray, *, min_similarity: float = 0.6
) -> dict[int, int]:
    """Pair discovered centroids with existing ones, one to one, most similar first.

    Returns {discovered index: existing index} for pairs at or above ``min_similarity``.
    """
    if len(existing) == 0 or len(discovered) == 0:
        return {}
    similarity = np.asarray(discovered) @ np.asarray(existing).T
    pairs = sorted(
        (
            (float(similarity[d, e]), d, e)
            for d in range(len(discovered))
            for e in range(len(existing))
        ),
        reverse=True,
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for value, d, e in pairs:
        if value < min_similarity:
            break
        if d in matched or e in used:
            continue
        matched[d] = e
        used.add(e)
    return matched


def split_vectors(vectors: np.ndarray, *, random_state: int = 0) -> np.ndarray:
    """Two-way split of a theme's members (labels 0/1) for the codebook's split."""
    if len(vectors) < 4:
        raise ValueError("A theme needs at least 4 members to be split by clustering.")
    return _kmeans(vectors, 2, random_state=random_state, n_init=8).labels_


# --- artifacts ---------------------------------------------------------------------------


def dump(space: ThemeSpace, path: str | os.PathLike) -> Path:
    """Write ``space`` (joblib, compressed) atomically, after a small header."""
    path = Path(path)
    semantic = getattr(space, "semantic", None)
    header = {
        "format": ARTIFACT_FORMAT,
        "format_version": FORMAT_VERSION if semantic is None else SEMANTIC_FORMAT_VERSION,
        "pipeline": pipeline_name(space),
        "embedding_key": None if semantic is None else semantic.key,
    }
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(header, handle, protocol=pickle.HIGHEST_PROTOCOL)
        joblib.dump(space, handle, compress=3)
    os.replace(temporary, path)
    return path


def load(path: str | os.PathLike) -> ThemeSpace:
    """Read a space written by :func:`dump`. Only load files this product wrote."""
    with open(path, "rb") as handle:
        try:
            header = pickle.load(handle)
        except Exception as exc:
            raise IncompatibleThemeSpaceError(f"{path} is not a theme space") from exc
        if not isinstance(header, dict) or header.get("format") != ARTIFACT_FORMAT:
            raise IncompatibleThemeSpaceError(f"{path} is not a theme space")
        if header.get("format_version") not in (FORMAT_VERSION, SEMANTIC_FORMAT_VERSION):
            raise IncompatibleThemeSpaceError(f"{path}: format {header.get('format_version')}")
        space = joblib.load(handle)
    if not isinstance(space, ThemeSpace):
        raise IncompatibleThemeSpaceError(f"{path} does not hold a ThemeSpace")
    semantic = getattr(space, "semantic", None)
    if semantic is not None:
        # Its centroids include the semantic block: without the same embedding model the
        # space cannot place new texts where its themes are.
        try:
            installed = embeddings.model_key()
        except embeddings.EmbeddingModelUnavailable as exc:
            raise IncompatibleThemeSpaceError(
                f"{path} needs the embedding model {semantic.key}, which is not installed"
            ) from exc
        if installed != semantic.key:
            raise IncompatibleThemeSpaceError(
                f"{path} needs the embedding model {semantic.key}; installed: {installed}"
            )
    return space
