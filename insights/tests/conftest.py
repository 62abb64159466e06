import pytest

from insights.analysis import themes


@pytest.fixture(autouse=True)
def _themes_without_semantic_block(monkeypatch):
    """Theme discovery in these tests is the LSA pipeline alone: the semantic block runs the
    contextual MiniLM model (seconds per discovery) and is tested on its own, by tests that
    ask for it with ``semantic_sample``."""
    monkeypatch.setattr(themes, "SEMANTIC_SAMPLE", 0)
