"""Clustering for suggested segments: plain data in, plain data out (no database)."""

import random

import pandas as pd

from customization.analysis import clustering


def _population(seed: int = 1):
    rng = random.Random(seed)
    customers, themes = [], []
    pk = 0
    for group, size in (("enterprise", 14), ("free", 20), ("internal", 10)):
        for _ in range(size):
            pk += 1
            if group == "enterprise":
                row = (
                    "external",
                    "enterprise",
                    rng.uniform(80_000, 150_000),
                    rng.randint(8, 14),
                    -0.4,
                    0.3,
                    0.6,
                )
                themes.append(
                    {
                        "customer_id": pk,
                        "theme_id": 1,
                        "theme": "Billing",
                        "count": rng.randint(4, 8),
                    }
                )
            elif group == "free":
                row = ("external", "free", 0, rng.randint(1, 3), 0.3, 0.8, 0.1)
                themes.append(
                    {"customer_id": pk, "theme_id": 2, "theme": "App crashes", "count": 1}
                )
            else:
                row = ("internal", "standard", 0, rng.randint(2, 5), 0.0, None, 0.3)
                themes.append({"customer_id": pk, "theme_id": 3, "theme": "Reporting", "count": 2})
            kind, tier, value, volume, sentiment, rating, negative = row
            customers.append(
                {
                    "id": pk,
                    "kind": kind,
                    "tier": tier,
                    "annual_value": value,
                    "feedback_count": volume,
                    "avg_sentiment": sentiment + rng.uniform(-0.05, 0.05),
                    "avg_rating": rating,
                    "negative_share": negative,
                }
            )
    return pd.DataFrame(customers), pd.DataFrame(themes)


def test_clear_groups_are_found_and_described_in_plain_language():
    customers, themes = _population()
    suggestions = clustering.suggest_segments(customers, themes, max_clusters=6, seed=7)
    assert sorted(s.size for s in suggestions) == [10, 14, 20]
    by_size = {s.size: s for s in suggestions}
    enterprise = by_size[14]
    assert set(enterprise.customer_ids) == set(range(1, 15))
    assert "tier: enterprise (100% vs 32% overall)" in enterprise.traits
    assert enterprise.top_themes[0]["theme"] == "Billing"
    assert enterprise.top_themes[0]["customers"] == 14
    internal = by_size[10]
    assert "kind: internal (100% vs 23% overall)" in internal.traits
    assert internal.top_themes[0] == {
        "theme": "Reporting",
        "count": 20,
        "customers": 10,
        "theme_id": 3,
    }
    assert all(s.name for s in suggestions)


def test_same_data_and_seed_give_the_same_suggestions():
    customers, themes = _population()
    first = clustering.suggest_segments(customers, themes, max_clusters=6, seed=3)
    shuffled = customers.sample(frac=1, random_state=5)
    second = clustering.suggest_segments(shuffled, themes, max_clusters=6, seed=3)
    assert [(s.name, s.customer_ids, s.traits, s.top_themes) for s in first] == [
        (s.name, s.customer_ids, s.traits, s.top_themes) for s in second
    ]


def test_k_never_exceeds_the_maximum():
    customers, themes = _population()
    assert len(clustering.suggest_segments(customers, themes, max_clusters=2, seed=1)) == 2


def test_too_few_customers_or_no_structure_give_no_suggestion():
    customers, themes = _population()
    assert clustering.suggest_segments(customers.head(5), themes, max_clusters=6, seed=1) == []
    same = pd.DataFrame(
        [
            {
                "id": i,
                "kind": "external",
                "tier": "free",
                "annual_value": 0,
                "feedback_count": 1,
                "avg_sentiment": 0.0,
                "avg_rating": 0.5,
                "negative_share": 0.0,
            }
            for i in range(1, 20)
        ]
    )
    empty = pd.DataFrame(columns=["customer_id", "theme_id", "theme", "count"])
    assert clustering.suggest_segments(same, empty, max_clusters=6, seed=1) == []


def test_customers_without_feedback_or_themes_are_clustered_too():
    customers, _ = _population()
    customers["avg_sentiment"] = None
    customers["avg_rating"] = None
    empty = pd.DataFrame(columns=["customer_id", "theme_id", "theme", "count"])
    suggestions = clustering.suggest_segments(customers, empty, max_clusters=4, seed=1)
    assert suggestions and sum(s.size for s in suggestions) == len(customers)
    assert all(s.top_themes == [] for s in suggestions)


def test_a_cluster_repeats_a_decided_one_when_it_has_nearly_the_same_customers():
    members = set(range(1, 11))
    assert clustering.repeats_one_of(members, [set(range(1, 10))])  # 9 of 10 in common
    assert clustering.repeats_one_of(members, [{50}, set(range(1, 12))])
    assert not clustering.repeats_one_of(members, [set(range(1, 6))])  # half
    assert not clustering.repeats_one_of(members, [])
