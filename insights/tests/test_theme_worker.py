"""Theme discovery through the broker, on a real worker and PostgreSQL."""

import datetime as dt

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from conftest import wait_until
from feedback.tests.factories import FeedbackFactory
from insights.models import FeedbackTheme, Theme, ThemeModel
from insights.tasks import discover_themes_task

from .theme_corpus import planted_corpus

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_worker_discovers_themes_and_assigns_feedback(
    postgres_required, settings, tmp_path, celery_worker
):
    settings.SENTIMENT_MODEL_DIR = tmp_path
    texts, _ = planted_corpus(20)
    for text in texts:
        FeedbackFactory(
            text=text,
            analysed_at=timezone.now(),
            received_at=timezone.now() - dt.timedelta(hours=2),
        )
    # Deployments route discovery to the training queue; sent to the queue this worker
    # consumes so that no training job left by another test runs first.
    discover_themes_task.apply_async(args=[5], queue=celery_app.conf.task_default_queue)

    assert wait_until(lambda: ThemeModel.objects.filter(is_active=True).exists(), timeout=90)
    assert Theme.objects.count() == 5
    assert wait_until(lambda: FeedbackTheme.objects.count() >= 90)
