"""Two workers share the backlog without waiting for or re-scoring each other's rows."""

import threading

import pytest
from django.db import connection

from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory
from insights import scoring, services

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_concurrent_batches_claim_disjoint_rows(postgres_required, settings, monkeypatch):
    settings.ANALYSIS_BATCH_SIZE = 5
    for n in range(10):
        FeedbackFactory(text=f"Great product number {n}")

    first_inside = threading.Event()
    release_first = threading.Event()
    claimed: dict[str, list[str]] = {}
    real = scoring.LEXICON

    def scoring_that_holds_its_claim(texts):
        name = threading.current_thread().name
        claimed[name] = list(texts)
        if name == "first":
            first_inside.set()
            # Keep the first batch's rows locked while the second worker claims.
            assert release_first.wait(10)
        return real.score_mixed(texts)

    monkeypatch.setattr(
        scoring,
        "LEXICON",
        scoring.Scorer(real.name, None, real.score, scoring_that_holds_its_claim),
    )

    def work():
        try:
            services.analyse_pending_batch()
        finally:
            connection.close()

    first = threading.Thread(target=work, name="first")
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=work, name="second")
    second.start()
    second.join(10)
    # The second worker finished while the first still held its rows: it skipped them.
    assert not second.is_alive()
    release_first.set()
    first.join(10)

    assert len(claimed["first"]) == len(claimed["second"]) == 5
    assert not set(claimed["first"]) & set(claimed["second"])
    assert not Feedback.objects.unanalysed().exists()
