import datetime as dt
import re

import pytest
from django.utils import timezone

from feedback.services import record_feedback
from insights import services

pytestmark = pytest.mark.django_db


def _tile(html: str, label: str) -> str:
    start = html.index(f"<h2>{label}</h2>")
    return html[start : html.index("</article>", start)]


def test_kpi_tiles_show_interval_significance_and_drill_down_to_the_same_count(client, manager):
    now = timezone.now()
    for days_ago in range(1, 13):
        record_feedback(
            channel="form",
            text="Bad, very bad, awful",
            received_at=now - dt.timedelta(days=days_ago),
        )
    for days_ago in range(31, 34):
        record_feedback(
            channel="form", text="Good, very good", received_at=now - dt.timedelta(days=days_ago)
        )
    record_feedback(channel="form", text="Too old", received_at=now - dt.timedelta(days=90))
    services.analyse_all_pending()

    client.force_login(manager)
    html = client.get("/insights/").content.decode()

    volume = _tile(html, "Feedback volume")
    assert '<p class="value">12</p>' in volume
    assert "Before: 3" in volume and "interval" in volume
    assert "significant" in volume
    negative = _tile(html, "Negative share")
    assert '<p class="value">100%</p>' in negative and "<strong>significant</strong>" in negative

    for tile, expected in ((volume, 12), (negative, 12)):
        link = re.search(r'href="(/inbox/\?[^"]+)"', tile).group(1).replace("&amp;", "&")
        inbox = client.get(link)
        assert inbox.context["page"].paginator.count == expected


def test_dashboard_tiles_say_when_there_is_no_data(client, manager):
    client.force_login(manager)
    html = client.get("/insights/").content.decode()
    assert "No data in this period" in _tile(html, "NPS")
    assert "Not enough data to compare" in _tile(html, "NPS")
