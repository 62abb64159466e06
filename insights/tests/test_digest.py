import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from feedback.services import record_feedback
from feedback.tests.factories import ProductFactory, UserFactory
from insights import services
from insights.digest import digest_recipients, send_weekly_digest
from insights.models import Alert
from insights.tasks import send_weekly_digest_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _feedback(text, days_ago, **fields):
    return record_feedback(
        channel="form",
        text=text,
        received_at=timezone.now() - dt.timedelta(days=days_ago),
        **fields,
    )


def test_recipients_are_active_managers_with_email_and_the_configured_addresses(
    manager, staff_member, settings
):
    settings.INSIGHTS_DIGEST_EMAILS = ["Board@Example.com", " "]
    UserFactory(username="gone", role="manager", is_active=False)
    UserFactory(username="mute", role="manager", email="")
    assert Group.objects.filter(name="manager").exists()
    assert digest_recipients() == sorted(["board@example.com", manager.email.lower()])


def test_weekly_digest_sends_kpis_movers_and_new_alerts_once(manager, settings):
    settings.INSIGHTS_DIGEST_EMAILS = ["board@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.INSIGHTS_MIN_GROUP_SIZE = 3
    app = ProductFactory(name="Mobile app")
    for days_ago in range(1, 8):
        for _ in range(3):
            _feedback("Bad, very bad, awful crash", days_ago, product=app)
    for days_ago in range(8, 15):
        _feedback("Good, very good, lovely", days_ago, product=app)
    services.analyse_all_pending()
    Alert.objects.create(
        kind="rule",
        fingerprint="test",
        title="Volume spike on Mobile app",
        last_seen_at=timezone.now(),
    )

    assert send_weekly_digest_task.apply().get() == 2
    assert len(mail.outbox) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["board@example.com", manager.email])
    message = mail.outbox[0]
    assert message.subject.startswith("[FocusLoop] Weekly insights")
    assert "Feedback volume: 21 (before: 7) SIGNIFICANT CHANGE +14" in message.body
    # Shares read as percentages and their change in points, as on the dashboard.
    assert "Negative share: 100% (before: 0%) SIGNIFICANT CHANGE +100 pts" in message.body
    assert "Product Mobile app: Negative share 0% -> 100%" in message.body
    assert "Volume spike on Mobile app" in message.body
    html, mime = message.alternatives[0]
    assert mime == "text/html"
    assert "<strong>Mobile app</strong>" in html and "Volume spike on Mobile app" in html
    assert "Negative share 0% → 100%" in html and "▲ +100 pts, significant" in html
    assert "/insights/?date_from=" in html

    # A retried or doubled run on the same day sends nothing more.
    assert send_weekly_digest() == 0
    assert len(mail.outbox) == 2


def test_digest_escapes_names_in_the_html_part(manager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Alert.objects.create(
        kind="rule",
        fingerprint="x",
        title="<script>alert(1)</script>",
        last_seen_at=timezone.now(),
    )
    assert send_weekly_digest() == 1
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_no_recipients_sends_nothing(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_weekly_digest() == 0
    assert mail.outbox == []
