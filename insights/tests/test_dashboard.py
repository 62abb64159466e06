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


def test_filters_in_the_query_string_narrow_tiles_and_drill_down(client, manager):
    from feedback.tests.factories import ProductFactory

    app = ProductFactory(slug="app", name="App")
    now = timezone.now()
    for days_ago in (1, 2, 3, 20):
        record_feedback(
            channel="form",
            text="Crashes again",
            product=app,
            received_at=now - dt.timedelta(days=days_ago),
        )
    record_feedback(channel="form", text="Fine", received_at=now - dt.timedelta(days=2))
    services.analyse_all_pending()
    client.force_login(manager)

    page = client.get("/insights/", {"days": 7, "product": "app"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Last 7 days compared with the 7 days before, App only" in html
    volume = _tile(html, "Feedback volume")
    assert '<p class="value">3</p>' in volume
    link = re.search(r'href="(/inbox/\?[^"]+)"', volume).group(1).replace("&amp;", "&")
    assert "product=app" in link
    assert client.get(link).context["page"].paginator.count == 3


@pytest.mark.parametrize("query", [{"days": "5"}, {"product": "no-such-product"}])
def test_bad_filters_are_400_with_the_form_error(client, manager, query):
    client.force_login(manager)
    page = client.get("/insights/", query)
    assert page.status_code == 400
    assert "Select a valid choice" in page.content.decode()
