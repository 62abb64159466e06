import csv
import datetime as dt
import io

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from customization.models import Segment
from feedback.services import record_feedback
from feedback.tests.factories import CustomerFactory, ProductFactory
from insights import services
from insights.exports import safe_cell
from insights.theme_services import refresh_daily_theme_stats

pytestmark = pytest.mark.django_db


def _rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("-3", "-3"),
        ("+4.5", "+4.5"),
        ("-3 stars", "'-3 stars"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Plain name", "Plain name"),
        (-0.25, -0.25),
        (12, 12),
        (None, ""),
        (True, "yes"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_quoted(value, expected):
    assert safe_cell(value) == expected


def _data():
    app = ProductFactory(name="=cmd|' /C calc'!A0", slug="evil")
    segment = Segment.objects.create(name="@risk accounts")
    now = timezone.now()
    for days_ago in range(1, 7):
        customer = CustomerFactory()
        segment.customers.add(customer)
        record_feedback(
            channel="review",
            text="Bad, very bad, awful",
            product=app,
            customer=customer,
            received_at=now - dt.timedelta(days=days_ago),
        )
    services.analyse_all_pending()


def test_every_overview_table_downloads_as_csv(client, manager):
    _data()
    client.force_login(manager)
    kpis = _rows(client.get("/insights/", {"format": "csv", "table": "kpis"}))
    assert kpis[0][:3] == ["metric", "value", "ci_low"]
    volume = next(row for row in kpis if row[0] == "Feedback volume")
    assert volume[1] == "6" and volume[4] == "6"
    channels = _rows(client.get("/insights/", {"format": "csv", "table": "channels"}))
    assert channels[1][0] == "Online review" and channels[1][1] == "6"
    kinds = _rows(client.get("/insights/", {"format": "csv", "table": "customer_kinds"}))
    assert kinds[1][0] == "External"
    series = _rows(client.get("/insights/", {"format": "csv", "table": "series"}))
    assert series[0] == ["week", "volume", "negative_share", "average_sentiment"]
    assert len(series) == 53 and sum(int(row[1] or 0) for row in series[1:]) == 6


def test_ranking_tables_download_with_names_escaped(client, manager):
    _data()
    client.force_login(manager)
    products = _rows(client.get("/insights/rankings/", {"format": "csv", "table": "products"}))
    assert products[1][0] == "'=cmd|' /C calc'!A0"
    segments = _rows(client.get("/insights/rankings/", {"format": "csv", "table": "segments"}))
    assert segments[1][0] == "'@risk accounts" and segments[1][1] == "6"


def test_export_follows_the_filters_and_refuses_bad_requests(client, manager):
    _data()
    client.force_login(manager)
    only_email = _rows(
        client.get("/insights/", {"format": "csv", "table": "kpis", "channel": "email"})
    )
    assert next(row for row in only_email if row[0] == "Feedback volume")[1] == "0"
    assert client.get("/insights/", {"format": "csv", "table": "nope"}).status_code == 400
    assert (
        client.get("/insights/", {"format": "csv", "table": "kpis", "days": "3"}).status_code == 400
    )


def test_themes_table_downloads_as_csv(client, manager):
    from feedback.models import Feedback
    from insights.models import FeedbackTheme, Theme

    _data()
    theme = Theme.objects.create(name="-Crash", slug="crash")

    for feedback in Feedback.objects.all():
        FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=1.0, source="manual")
    refresh_daily_theme_stats()
    client.force_login(manager)
    rows = _rows(client.get("/insights/themes/", {"format": "csv"}))
    assert rows[0][:3] == ["theme", "volume", "share"]
    row = next(r for r in rows if r[0] == "'-Crash")
    assert row[1] == "6"
