"""Which customization requests ask for the same thing (no database).

Two requests are alike when they carry the same theme, or when the TF-IDF cosine
similarity of their title and description reaches ``SIMILARITY_THRESHOLD``. Alike is made
transitive (connected components), so a chain of close requests forms one group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

# 0.35 on word unigrams and bigrams with English stop words removed: requests phrased
# differently about the same thing ("Export invoices to SAP" / "SAP export of invoices")
# land above it; requests sharing only a generic word ("report") stay below.
SIMILARITY_THRESHOLD = 0.35


@dataclass(frozen=True)
class RequestText:
    id: int
    text: str
    theme_id: int | None
    # Who asks: "customer:12" or "segment:3". Distinct parties count towards promotion.
    party: str


def _components(count: int, edges: list[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(count))

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[int, list[int]] = {}
    for node in range(count):
        groups.setdefault(find(node), []).append(node)
    return list(groups.values())


def similar_groups(
    items: list[RequestText], *, min_parties: int, threshold: float = SIMILARITY_THRESHOLD
) -> list[list[int]]:
    """Groups of request ids asked for by at least ``min_parties`` distinct parties.

    Groups are ordered by party count (largest first), ids inside a group ascending.
    """
    if not items:
        return []
    edges: list[tuple[int, int]] = []
    by_theme: dict[int, int] = {}
    for index, item in enumerate(items):
        if item.theme_id is not None:
            if item.theme_id in by_theme:
                edges.append((by_theme[item.theme_id], index))
            else:
                by_theme[item.theme_id] = index
    texts = [item.text for item in items]
    matrix = None
    try:
        matrix = TfidfVectorizer(
            stop_words="english", ngram_range=(1, 2), sublinear_tf=True
        ).fit_transform(texts)
    except ValueError:  # only stop words: no text to compare
        pass
    if matrix is not None:
        similarity = cosine_similarity(matrix)
        rows, cols = np.nonzero(np.triu(similarity >= threshold, k=1))
        edges.extend(zip(rows.tolist(), cols.tolist(), strict=True))
    groups = []
    for members in _components(len(items), edges):
        parties = {items[i].party for i in members}
        if len(parties) >= min_parties:
            groups.append((len(parties), sorted(items[i].id for i in members)))
    groups.sort(key=lambda pair: (-pair[0], pair[1][0]))
    return [ids for _, ids in groups]
