import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from customization.models import Segment
from insights.models import DailyFeedbackStat, DailySegmentStat, DailyThemeStat, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(manager):
    client = APIClient()
    client.force_authenticate(manager)
    return client


def _volume(api, **query):
    body = api.get("/api/v1/metrics/", {"days": 7, **query}).json()
    return {row["metric"]: row for row in body["metrics"]}["volume"]["current"]


def test_metrics_are_narrowed_to_a_theme_or_a_segment(api, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 5
    yesterday = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=1)
    row = {"day": yesterday, "channel": "form", "customer_kind": "external"}
    DailyFeedbackStat.objects.create(**row, feedback_count=100)
    theme = Theme.objects.create(name="Checkout", slug="checkout")
    DailyThemeStat.objects.create(**row, theme=theme, feedback_count=12)
    members = Segment.objects.create(name="Key accounts")
    DailySegmentStat.objects.create(**row, segment=members, feedback_count=30)
    few = Segment.objects.create(name="One person")
    DailySegmentStat.objects.create(**row, segment=few, feedback_count=2)

    assert _volume(api)["value"] == 100
    assert _volume(api, theme="checkout")["value"] == 12
    assert _volume(api, segment=members.pk)["value"] == 30
    # As on the dashboard, a group this small is not shown.
    assert _volume(api, segment=few.pk) is None
    weekly = api.get("/api/v1/metrics/weekly/", {"theme": "checkout", "weeks": 2}).json()
    assert sum(week["value"] for week in weekly["metrics"]["volume"] if week) == 12


@pytest.mark.parametrize(
    "query, field",
    [({"theme": "nope"}, "theme"), ({"segment": 999999}, "segment"), ({"segment": "x"}, "segment")],
)
def test_metrics_refuse_unknown_filter_values(api, query, field):
    for url in ("/api/v1/metrics/", "/api/v1/metrics/weekly/"):
        response = api.get(url, query)
        assert response.status_code == 400, url
        assert field in response.json()["errors"]


def test_metrics_refuse_a_merged_theme_and_a_discarded_segment(api):
    Theme.objects.create(name="Old", slug="old", status=Theme.Status.MERGED)
    discarded = Segment.objects.create(name="Gone", status=Segment.Status.DISCARDED)
    assert api.get("/api/v1/metrics/", {"theme": "old"}).status_code == 400
    assert api.get("/api/v1/metrics/", {"segment": discarded.pk}).status_code == 400


def test_alerts_refuse_an_unknown_status_naming_the_allowed_ones(api):
    response = api.get("/api/v1/alerts/", {"status": "bogus"})
    assert response.status_code == 400
    assert response.json()["errors"]["status"] == [
        "Unknown status; one of: unresolved, open, acknowledged, resolved, all."
    ]
    assert api.get("/api/v1/alerts/", {"status": "resolved"}).status_code == 200


def test_alerts_come_in_cursor_pages_most_recently_seen_first(api):
    from insights import alerts
    from insights.models import Alert

    now = timezone.now()
    for n in range(3):
        alert, _ = alerts.raise_alert(fingerprint=f"p{n}", kind="rule", title=f"A{n}", evidence={})
        Alert.objects.filter(pk=alert.pk).update(last_seen_at=now - dt.timedelta(hours=n))
    page = api.get("/api/v1/alerts/", {"page_size": 2}).json()
    assert "count" not in page and "cursor=" in page["next"]
    titles = [a["title"] for a in page["results"]]
    titles += [a["title"] for a in api.get(page["next"]).json()["results"]]
    assert titles == ["A0", "A1", "A2"]


def test_acting_on_a_resolved_alert_is_a_conflict(api):
    from insights import alerts

    alert, _ = alerts.raise_alert(fingerprint="c1", kind="rule", title="NPS fell", evidence={})
    assert api.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "fixed"}).status_code == 200

    for action in ("acknowledge", "resolve"):
        response = api.post(f"/api/v1/alerts/{alert.pk}/{action}/")
        assert response.status_code == 409, action
        assert response.json() == {
            "errors": {"non_field_errors": ["This alert is already resolved."]},
            "code": "resolved",
        }


def test_forecasts_list_offers_no_search_that_would_do_nothing(api):
    schema = api.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200
    parameters = schema.json()["paths"]["/api/v1/forecasts/"]["get"]["parameters"]
    names = {parameter["name"] for parameter in parameters}
    assert "search" not in names and {"metric", "scope", "product", "theme"} <= names


def test_kpi_volume_counts_full_days_ending_yesterday(api):
    today = timezone.now().astimezone(dt.UTC).date()
    row = {"channel": "form", "customer_kind": "external"}
    DailyFeedbackStat.objects.create(day=today, **row, feedback_count=3)  # still counting
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=1), **row, feedback_count=50)
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=8), **row, feedback_count=40)

    body = api.get("/api/v1/metrics/", {"days": 7}).json()

    volume = {row["metric"]: row for row in body["metrics"]}["volume"]
    assert (volume["current"]["value"], volume["previous"]["value"]) == (50, 40)
    yesterday = today - dt.timedelta(days=1)
    assert body["window"]["volume_to"] == yesterday.isoformat()
    assert body["window"]["volume_from"] == (today - dt.timedelta(days=7)).isoformat()


def test_weekly_metrics_are_one_rollup_read_whatever_the_number_of_weeks(
    api, django_assert_max_num_queries
):
    today = timezone.now().astimezone(dt.UTC).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    row = {"channel": "form", "customer_kind": "internal"}
    for weeks_ago, count in ((0, 2), (3, 7), (51, 4)):
        day = this_monday - dt.timedelta(weeks=weeks_ago) + dt.timedelta(days=1)
        DailyFeedbackStat.objects.create(day=min(day, today), **row, feedback_count=count)
    DailyFeedbackStat.objects.create(
        day=this_monday - dt.timedelta(weeks=3), channel="email", customer_kind="external",
        feedback_count=100,
    )  # fmt: skip

    with django_assert_max_num_queries(5):
        body = api.get("/api/v1/metrics/weekly/", {"weeks": 52, "channel": "form"}).json()

    assert body["weeks"][0] == (this_monday - dt.timedelta(weeks=51)).isoformat()
    assert body["weeks"][-1] == this_monday.isoformat() and len(body["weeks"]) == 52
    volume = [week["value"] if week else 0 for week in body["metrics"]["volume"]]
    assert (volume[0], volume[-4], volume[-1], sum(volume)) == (4, 7, 2, 13)
