"""The trends page: period comparison with tests, and control charts from the rollup."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.tests.factories import ProductFactory
from insights import dashboard, trends
from insights.dashboard_scope import Scope
from insights.models import DailyFeedbackStat

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(dt.UTC).date()


def stat(day, **counts):
    DailyFeedbackStat.objects.create(day=day, channel="form", customer_kind="external", **counts)


def test_period_comparison_reports_nps_change_with_its_test():
    stat(TODAY - dt.timedelta(days=40), nps_promoters=40, nps_passives=30, nps_detractors=30)
    stat(TODAY - dt.timedelta(days=3), nps_promoters=50, nps_passives=30, nps_detractors=20)

    result = trends.period_comparison(days=30, today=TODAY)

    nps = next(row for row in result["rows"] if row["metric"] == "nps")
    assert nps["previous"].value == pytest.approx(10) and nps["current"].value == pytest.approx(30)
    assert nps["comparison"].p_value == pytest.approx(0.07941, abs=1e-4)
    assert nps["comparison"].significant is False
    csat = next(row for row in result["rows"] if row["metric"] == "csat_average")
    assert csat["comparison"] is None and csat["current"] is None


def test_control_chart_flags_the_bad_week():
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    for week in range(1, 11):
        negative = 60 if week == 3 else 10
        stat(monday - dt.timedelta(weeks=week), analysed_count=100, negative_count=negative,
             csat_count=10, csat_sum=40, csat_sq_sum=165)  # fmt: skip
    charts = trends.control_charts(weeks=10, today=TODAY)
    flagged = [p.label for p in charts["p"].out_of_control]
    assert flagged == [(monday - dt.timedelta(weeks=3)).isoformat()]
    assert charts["xbar"].centre == pytest.approx(4.0)


def test_trends_page_per_role(client, staff_member, manager):
    url = reverse("insights:trends")
    assert client.get(url).status_code == 302
    client.force_login(staff_member)
    assert client.get(url).status_code == 403
    client.force_login(manager)
    stat(TODAY, feedback_count=5, analysed_count=5, negative_count=1)
    response = client.get(url + "?days=7")
    assert response.status_code == 200
    assert "Not enough data" in response.content.decode()
    assert client.get(url + "?days=banana").status_code == 200


def test_trends_page_shows_whole_counts_95_percent_intervals_direction_and_small_p(client, manager):
    today = timezone.now().astimezone(dt.UTC).date()
    row = {"channel": "form", "customer_kind": "external"}
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=40), **row, feedback_count=10)
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=5), **row, feedback_count=2088)
    client.force_login(manager)

    html = client.get(reverse("insights:trends")).content.decode()

    volume = html[html.index('<th scope="row">Feedback volume') :]
    volume = volume[: volume.index("</tr>")]
    assert "2,088 <small" in volume and "10 <small" in volume and "2088.000" not in volume
    assert "2,078 <small" in volume  # the change, whole
    assert "p&lt;0.001" in volume and "0.0000" not in volume
    assert "Significant change" in volume and "▲" in volume and "up" in volume
    assert "95% intervals" in html and "significance," not in html


def test_volume_is_compared_over_full_days_ending_yesterday(client, manager):
    today = timezone.now().astimezone(dt.UTC).date()
    row = {"channel": "form", "customer_kind": "external"}
    DailyFeedbackStat.objects.create(day=today, **row, feedback_count=3)  # still counting
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=1), **row, feedback_count=50)
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=31), **row, feedback_count=40)

    comparison = trends.period_comparison(days=30, today=today)

    volume = next(r for r in comparison["rows"] if r["metric"] == "volume")
    assert (volume["current"].value, volume["previous"].value) == (50, 40)
    assert comparison["volume_window"] == (
        today - dt.timedelta(days=30),
        today - dt.timedelta(days=1),
    )
    client.force_login(manager)
    tiles = {tile["metric"]: tile for tile in client.get("/insights/").context["tiles"]}
    assert tiles["volume"]["current"].value == 50
    assert tiles["volume"]["full_days"][1] == today - dt.timedelta(days=1)
    assert "today is still counting" in client.get(reverse("insights:trends")).content.decode()


def test_rankings_compare_volume_over_full_days_ending_yesterday(client, manager, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 1
    today = timezone.now().astimezone(dt.UTC).date()
    product = ProductFactory(name="Counter app")
    row = {"channel": "form", "customer_kind": "external", "product": product}
    DailyFeedbackStat.objects.create(day=today, **row, feedback_count=30)  # still counting
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=1), **row, feedback_count=5)
    DailyFeedbackStat.objects.create(day=today - dt.timedelta(days=31), **row, feedback_count=4)
    month = Scope(start=today - dt.timedelta(days=29), end=today + dt.timedelta(days=1))

    rows = dashboard.breakdown(month, "product")

    volume = rows[0]["cells"]["volume"]
    assert (volume["current"].value, volume["previous"].value) == (5, 4)
    assert volume["full_days"] == (today - dt.timedelta(days=30), today - dt.timedelta(days=1))
    client.force_login(manager)
    html = client.get(reverse("insights:rankings")).content.decode()
    assert "Volume counts full days" in html and "today is still counting" in html


def test_the_dashboard_opens_trends_for_its_product_and_period_inactive_products_too(
    client, manager
):
    retired = ProductFactory(name="Old kiosk", slug="old-kiosk", active=False)
    client.force_login(manager)

    page = client.get(reverse("insights:dashboard") + "?days=7&product=old-kiosk").content
    assert f"{reverse('insights:trends')}?product=old-kiosk&amp;days=7" in page.decode()

    response = client.get(reverse("insights:trends") + "?product=old-kiosk&days=7")
    assert response.status_code == 200
    assert response.context["product"] == retired
    assert "Old kiosk (inactive)</option>" in response.content.decode()
