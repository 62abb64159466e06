"""Customer clustering for suggested segments (no database: plain data in, plain data out).

Each customer is described by who they are (kind, tier, annual value) and what they say
(feedback volume, average sentiment and rating, share of negative feedback, and the share
of their feedback on each of the most common themes). The features are standardised and
clustered with k-means for every k from 2 to ``max_clusters``; the k with the best
silhouette wins. Every cluster is then described by what sets it apart from everyone:
its defining traits in plain language and the themes its customers raise most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

CATEGORICAL = ("kind", "tier")
NUMERIC = {
    "annual_value": "annual value",
    "feedback_count": "feedback per customer",
    "avg_sentiment": "average sentiment",
    "avg_rating": "average rating",
    "negative_share": "share of negative feedback",
}
# Fewer customers than this give no meaningful clusters.
MIN_CUSTOMERS = 8
# Theme features: the most common themes only, so rare ones do not split the space.
MAX_THEME_FEATURES = 20
# A category defines a cluster when it is this much more common inside than overall...
CATEGORY_LIFT = 0.2
# ...and at least this common inside.
CATEGORY_MIN_SHARE = 0.5
# A number defines a cluster when its cluster mean is this many standard deviations away.
NUMERIC_EFFECT = 0.5
MAX_TRAITS = 4
MAX_THEMES = 3
# A cluster sharing this much of its members (Jaccard index) with a suggestion a manager
# already accepted or discarded is that suggestion again.
SAME_CLUSTER_OVERLAP = 0.8


@dataclass
class Suggestion:
    """One cluster: its customers, what defines it, and what it talks about."""

    name: str
    customer_ids: list[int]
    traits: list[str]
    top_themes: list[dict] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.customer_ids)


def build_features(customers: pd.DataFrame, theme_counts: pd.DataFrame) -> pd.DataFrame:
    """The feature matrix, one row per customer id.

    ``customers``: id, kind, tier, annual_value, feedback_count, avg_sentiment (may be
    missing), avg_rating (0..1, may be missing), negative_share. ``theme_counts``:
    customer_id, theme (name), count.
    """
    frame = customers.set_index("id").sort_index()
    features = pd.get_dummies(frame[list(CATEGORICAL)].astype(str), prefix_sep="=", dtype=float)
    features["annual_value"] = np.log1p(frame["annual_value"].astype(float).clip(lower=0))
    features["feedback_count"] = np.log1p(frame["feedback_count"].astype(float))
    features["avg_sentiment"] = frame["avg_sentiment"].astype(float).fillna(0.0)
    rating = frame["avg_rating"].astype(float)
    features["avg_rating"] = rating.fillna(rating.mean() if rating.notna().any() else 0.5)
    features["negative_share"] = frame["negative_share"].astype(float).fillna(0.0)
    if not theme_counts.empty:
        top = (
            theme_counts.groupby("theme")["count"].sum().sort_values(ascending=False, kind="stable")
        )
        names = sorted(top.index[:MAX_THEME_FEATURES])
        pivot = (
            theme_counts[theme_counts["theme"].isin(names)]
            .pivot_table(index="customer_id", columns="theme", values="count", aggfunc="sum")
            .reindex(index=frame.index, columns=names)
            .fillna(0.0)
        )
        volume = frame["feedback_count"].astype(float).replace(0, np.nan)
        shares = pivot.div(volume, axis=0).fillna(0.0).clip(upper=1.0)
        shares.columns = [f"theme={name}" for name in names]
        features = features.join(shares)
    return features.astype(float)


def _choose_k(matrix: np.ndarray, max_clusters: int, seed: int) -> tuple[int, np.ndarray]:
    best: tuple[float, int, np.ndarray] | None = None
    # More clusters than distinct customers would leave some empty.
    distinct = len(np.unique(matrix, axis=0))
    upper = min(max_clusters, distinct, len(matrix) - 1)
    for k in range(2, upper + 1):
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(matrix)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(matrix, labels))
        # Strictly better only: ties keep the smaller, simpler k.
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels)
    if best is None:
        return 1, np.zeros(len(matrix), dtype=int)
    return best[1], best[2]


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _describe_numeric(name: str, inside: float, overall: float) -> str:
    label = NUMERIC[name]
    if name == "annual_value":
        return f"{label}: median {_money(inside)} vs {_money(overall)} overall"
    if name == "feedback_count":
        return f"{label}: {inside:.1f} vs {overall:.1f} overall"
    if name == "avg_rating":
        return f"{label}: {inside * 100:.0f}% vs {overall * 100:.0f}% overall"
    if name == "negative_share":
        return f"{label}: {inside * 100:.0f}% vs {overall * 100:.0f}% overall"
    return f"{label}: {inside:+.2f} vs {overall:+.2f} overall"


def _traits(
    frame: pd.DataFrame, scaled: pd.DataFrame, members: pd.Index
) -> list[tuple[float, str, str]]:
    """(strength, plain-language trait, short label) of what sets ``members`` apart."""
    found: list[tuple[float, str, str]] = []
    for column in CATEGORICAL:
        overall = frame[column].value_counts(normalize=True)
        inside = frame.loc[members, column].value_counts(normalize=True)
        for value, share in inside.items():
            lift = share - overall.get(value, 0.0)
            if share >= CATEGORY_MIN_SHARE and lift >= CATEGORY_LIFT:
                found.append(
                    (
                        lift * 3,
                        f"{column}: {value} ({share * 100:.0f}% vs "
                        f"{overall.get(value, 0.0) * 100:.0f}% overall)",
                        str(value),
                    )
                )
    for name in NUMERIC:
        effect = float(scaled.loc[members, name].mean())
        if abs(effect) < NUMERIC_EFFECT or frame[name].isna().all():
            continue
        if name in ("annual_value", "feedback_count"):
            inside = float(frame.loc[members, name].median())
            overall = float(frame[name].median())
        else:
            inside = float(frame.loc[members, name].mean())
            overall = float(frame[name].mean())
        if np.isnan(inside) or np.isnan(overall):
            continue
        direction = "high" if effect > 0 else "low"
        found.append(
            (abs(effect), _describe_numeric(name, inside, overall), f"{direction} {NUMERIC[name]}")
        )
    for column in scaled.columns:
        if not column.startswith("theme="):
            continue
        effect = float(scaled.loc[members, column].mean())
        if effect >= NUMERIC_EFFECT * 2:
            theme = column.split("=", 1)[1]
            inside = float(frame.loc[members, column].mean()) if column in frame else 0.0
            found.append(
                (effect, f"talks about {theme} ({inside * 100:.0f}% of their feedback)", theme)
            )
    found.sort(key=lambda item: (-item[0], item[1]))
    return found[:MAX_TRAITS]


def _top_themes(theme_counts: pd.DataFrame, members: pd.Index) -> list[dict]:
    if theme_counts.empty:
        return []
    inside = theme_counts[theme_counts["customer_id"].isin(members)]
    if inside.empty:
        return []
    totals = inside.groupby("theme").agg(
        count=("count", "sum"), customers=("customer_id", "nunique")
    )
    if "theme_id" in inside.columns:
        totals["theme_id"] = inside.groupby("theme")["theme_id"].first()
    totals = totals.reset_index().sort_values(
        ["count", "customers", "theme"], ascending=[False, False, True], kind="stable"
    )
    rows = []
    for row in totals.head(MAX_THEMES).itertuples(index=False):
        item = {"theme": row.theme, "count": int(row.count), "customers": int(row.customers)}
        if "theme_id" in totals.columns:
            item["theme_id"] = int(row.theme_id)
        rows.append(item)
    return rows


def repeats_one_of(members: Iterable[int], decided: Iterable[set[int]]) -> bool:
    """Whether ``members`` are (nearly) the customers of one of the ``decided`` clusters."""
    members = set(members)
    for other in decided:
        union = len(members | other)
        if union and len(members & other) / union >= SAME_CLUSTER_OVERLAP:
            return True
    return False


def suggest_segments(
    customers: pd.DataFrame,
    theme_counts: pd.DataFrame,
    *,
    max_clusters: int,
    seed: int,
) -> list[Suggestion]:
    """Cluster ``customers`` and describe each cluster (largest first).

    The same input and seed give the same clusters, names and traits. Fewer than
    ``MIN_CUSTOMERS`` customers, or data with no structure, give no suggestion.
    """
    if len(customers) < MIN_CUSTOMERS or max_clusters < 2:
        return []
    features = build_features(customers, theme_counts)
    scaler = StandardScaler()
    matrix = scaler.fit_transform(features.to_numpy())
    if not np.isfinite(matrix).all() or np.allclose(matrix, 0):
        return []
    k, labels = _choose_k(matrix, max_clusters, seed)
    if k < 2:
        return []
    scaled = pd.DataFrame(matrix, index=features.index, columns=features.columns)
    frame = customers.set_index("id").sort_index().copy()
    frame["annual_value"] = frame["annual_value"].astype(float)
    frame["feedback_count"] = frame["feedback_count"].astype(float)
    for column in features.columns:
        if column.startswith("theme="):
            frame[column] = features[column]
    clusters = []
    for label in sorted(set(labels)):
        members = features.index[labels == label]
        traits = _traits(frame, scaled, members)
        name_parts = [short for _, _, short in traits[:2]] or [f"group {label + 1}"]
        clusters.append(
            Suggestion(
                name=" · ".join(part[:1].upper() + part[1:] for part in name_parts)[:100],
                customer_ids=[int(pk) for pk in members],
                traits=[text for _, text, _ in traits],
                top_themes=_top_themes(theme_counts, members),
            )
        )
    clusters.sort(key=lambda c: (-c.size, c.customer_ids[0]))
    return clusters
