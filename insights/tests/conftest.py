import pytest

from insights.analysis import themes


@pytest.fixture(autouse=True)
def _themes_without_semantic_block(monkeypatch):
    """Theme discovery in these tests is the LSA pipeline alone: the semantic block runs the
    contextual MiniLM model (seconds per discovery) and is tested on its own, by tests that
    ask for it with ``semantic_sample``."""
    monkeypatch.setattr(themes, "SEMANTIC_SAMPLE", 0)


@pytest.fixture
def dead_broker():
    """Point the app at a port where nothing listens, as when Redis is down."""
    from config.celery import app as celery_app

    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app.amqp._producer_pool = None
    yield
    celery_app.conf.broker_url = original
    celery_app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def _no_run_left_queued_by_an_earlier_test():
    """A run queued by hand is remembered in the cache (Redis when configured), which
    outlives a test."""
    from django.core.cache import cache

    from insights.runs import ON_DEMAND_TASKS, queued_key

    cache.delete_many([queued_key(kind) for kind in ON_DEMAND_TASKS])
