"""Theme discovery, ORM-free: planted topics are recovered, assignment needs no refit."""

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from insights.analysis import themes

from .theme_corpus import TOPICS, planted_corpus


def test_discovery_recovers_planted_topics_with_the_chosen_k():
    texts, labels = planted_corpus(40)

    found = themes.discover(texts, random_state=0)

    # Chance is ~0; a pipeline that ignores the words or mixes the clusters lands far below.
    assert normalized_mutual_info_score(labels, found.labels) >= 0.7
    assert 4 <= found.k <= 8
    assert found.chosen_by == "silhouette"


def test_each_theme_has_terms_three_distinct_quotes_and_a_unit_centroid():
    texts, _ = planted_corpus(30)

    found = themes.discover(texts, k=5, random_state=0)

    assert len(found.themes) == 5
    for theme in found.themes:
        assert theme.top_terms and theme.name
        assert len(theme.quotes) == 3
        assert len({texts[i] for i in theme.quotes}) == 3
        assert abs(np.linalg.norm(theme.centroid) - 1) < 1e-3
    named = {term for theme in found.themes for term in theme.top_terms}
    # Every planted topic shows in some theme's terms.
    assert all(named & set(words) for words in TOPICS.values())


def test_discovery_is_deterministic_for_a_seed():
    texts, _ = planted_corpus(20)

    first = themes.discover(texts, random_state=3)
    second = themes.discover(texts, random_state=3)

    assert first.labels == second.labels
    assert [t.top_terms for t in first.themes] == [t.top_terms for t in second.themes]


def test_fewer_than_fifty_texts_are_refused_with_a_clear_message():
    texts, _ = planted_corpus(9)  # 45 texts

    with pytest.raises(themes.TooFewTextsError, match="at least 50"):
        themes.discover(texts)


def test_impossible_k_is_refused():
    texts, _ = planted_corpus(12)  # 60 texts: at most 6 themes

    with pytest.raises(ValueError, match="k must be between"):
        themes.discover(texts, k=7)


def test_new_texts_are_assigned_to_the_theme_of_their_topic_without_refitting(tmp_path):
    texts, labels = planted_corpus(40)
    found = themes.discover(texts, k=5, random_state=0)
    path = themes.dump(found.space, tmp_path / "space.joblib")
    space = themes.load(path)
    centroids = np.asarray([theme.centroid for theme in found.themes])
    # Which theme holds most of each planted topic.
    topic_theme = {
        topic: max(
            range(5),
            key=lambda t: sum(
                1 for lab, a in zip(labels, found.labels, strict=True) if lab == topic and a == t
            ),
        )
        for topic in TOPICS
    }

    assigned = themes.assign(
        space,
        centroids,
        [
            "The courier lost my parcel and tracking is useless",
            "The app crashes at login after the update",
        ],
    )

    assert assigned[0] and assigned[0][0][0] == topic_theme["delivery"]
    assert assigned[1] and assigned[1][0][0] == topic_theme["app"]
    assert all(score >= themes.DEFAULT_THRESHOLD for _, score in assigned[0])


def test_an_unrelated_text_gets_no_theme():
    texts, _ = planted_corpus(40)
    found = themes.discover(texts, k=5, random_state=0)

    assigned = themes.assign(
        found.space, np.asarray([t.centroid for t in found.themes]), ["zzz qqq xyzzy"]
    )

    assert assigned == [[]]


def test_a_file_that_is_not_a_theme_space_is_refused(tmp_path):
    path = tmp_path / "bogus.joblib"
    path.write_bytes(b"not a pickle")

    with pytest.raises(themes.IncompatibleThemeSpaceError):
        themes.load(path)


def test_matching_pairs_similar_centroids_one_to_one_above_the_threshold():
    existing = np.asarray([[1.0, 0.0], [0.0, 1.0]])
    discovered = np.asarray([[0.0, 1.0], [0.8, 0.6], [0.6, -0.8]])

    assert themes.match_themes(existing, discovered, min_similarity=0.7) == {0: 1, 1: 0}


def test_cleaning_drops_handles_links_and_numbers():
    assert themes.clean("@Acme flight 1427 late! see https://t.co/x #delay").split() == [
        "flight",
        "late!",
        "see",
        "delay",
    ]
