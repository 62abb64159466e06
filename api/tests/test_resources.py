"""Read endpoints for customers, products, themes, alerts, forecasts and metrics."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from feedback.tests.factories import CustomerFactory, ProductFactory
from insights import alerts
from insights.models import Alert, DailyFeedbackStat, Forecast, Theme

from .conftest import key_client

pytestmark = pytest.mark.django_db
INSIGHTS_URLS = ["/api/v1/themes/", "/api/v1/alerts/", "/api/v1/forecasts/", "/api/v1/metrics/"]


def today():
    return timezone.now().astimezone(dt.UTC).date()


def stat(day, *, channel="api", customer_kind="external", product=None, **counts):
    return DailyFeedbackStat.objects.create(
        day=day, channel=channel, customer_kind=customer_kind, product=product, **counts
    )


@pytest.mark.parametrize("url", [*INSIGHTS_URLS, "/api/v1/metrics/weekly/"])
def test_insights_endpoints_need_the_insights_scope_or_the_dashboard(url, staff_member, manager):
    assert key_client(["feedback:read"]).get(url).status_code == 403
    assert key_client(["insights:read"]).get(url).status_code == 200
    person = APIClient()
    person.force_authenticate(manager)
    assert person.get(url).status_code == 200
    assert APIClient().get(url).status_code == 401


def test_staff_see_alerts_but_not_the_dashboard_metrics(staff_member):
    person = APIClient()
    person.force_authenticate(staff_member)
    assert person.get("/api/v1/alerts/").status_code == 200
    assert person.get("/api/v1/metrics/").status_code == 403


def test_alerts_are_listed_acknowledged_and_resolved():
    alert, _ = alerts.raise_alert(
        fingerprint="f1", kind="rule", title="NPS fell", evidence={"n": 3}
    )
    reader = key_client(["insights:read"])
    rows = reader.get("/api/v1/alerts/").json()["results"]
    assert [(r["id"], r["status"], r["evidence"]) for r in rows] == [(alert.pk, "open", {"n": 3})]
    assert reader.post(f"/api/v1/alerts/{alert.pk}/acknowledge/").status_code == 403

    writer = key_client(["insights:write"])
    acked = writer.post(f"/api/v1/alerts/{alert.pk}/acknowledge/")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    resolved = writer.post(f"/api/v1/alerts/{alert.pk}/resolve/", {"note": "fixed"}, format="json")
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolution_note"] == "fixed"
    again = writer.post(f"/api/v1/alerts/{alert.pk}/resolve/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "resolved"
    assert reader.get("/api/v1/alerts/").json()["results"] == []
    assert len(reader.get("/api/v1/alerts/", {"status": "all"}).json()["results"]) == 1
    assert writer.post("/api/v1/alerts/999999/resolve/", {}, format="json").status_code == 404


def test_alert_list_query_count_is_bounded(django_assert_max_num_queries):
    for n in range(30):
        alerts.raise_alert(fingerprint=f"f{n}", kind="rule", title=f"a{n}", evidence={})
    reader = key_client(["insights:read"])
    with django_assert_max_num_queries(5):
        page = reader.get("/api/v1/alerts/", {"page_size": 20}).json()
    assert len(page["results"]) == 20 and page["next"]
    assert Alert.objects.count() == 30


def test_themes_leave_merged_ones_out():
    Theme.objects.create(name="Billing", slug="billing")
    Theme.objects.create(name="Old", slug="old", status=Theme.Status.MERGED)
    reader = key_client(["insights:read"])
    assert [t["slug"] for t in reader.get("/api/v1/themes/").json()["results"]] == ["billing"]
    merged = reader.get("/api/v1/themes/", {"status": "merged"}).json()["results"]
    assert [t["slug"] for t in merged] == ["old"]


def test_themes_are_listed_as_the_codebook_shows_them_pinned_first_then_by_name():
    for name, pinned in (("Billing", False), ("Refunds", True), ("App", False)):
        Theme.objects.create(name=name, slug=name.lower(), pinned=pinned)
    reader = key_client(["insights:read"])
    listed = [t["name"] for t in reader.get("/api/v1/themes/").json()["results"]]
    assert listed == ["Refunds", "App", "Billing"]
    by_name = reader.get("/api/v1/themes/", {"ordering": "-name"}).json()["results"]
    assert [t["name"] for t in by_name] == ["Refunds", "Billing", "App"]


def test_forecasts_are_listed_with_their_intervals():
    Forecast.objects.create(
        metric="volume",
        scope_key="overall",
        generated_at=timezone.now(),
        history_end=today(),
        horizon=1,
        method="ets",
        points=[{"week": "2026-12-07", "value": 10, "lower": 8, "upper": 12}],
    )
    rows = key_client(["insights:read"]).get("/api/v1/forecasts/").json()["results"]
    assert rows[0]["points"][0]["upper"] == 12


def test_kpis_carry_confidence_intervals_for_a_filter():
    product = ProductFactory(slug="app")
    day = today() - dt.timedelta(days=1)  # volume is compared over full days, to yesterday
    stat(
        day,
        product=product,
        feedback_count=40,
        nps_promoters=20,
        nps_detractors=10,
        nps_passives=10,
    )
    stat(day, channel="form", feedback_count=1000, nps_promoters=0, nps_detractors=500)
    stat(
        day - dt.timedelta(days=10),
        product=product,
        feedback_count=40,
        nps_promoters=10,
        nps_detractors=20,
        nps_passives=10,
    )
    reader = key_client(["insights:read"])
    body = reader.get("/api/v1/metrics/", {"product": "app", "days": 7}).json()
    metrics = {row["metric"]: row for row in body["metrics"]}
    nps = metrics["nps"]["current"]
    assert nps["value"] == pytest.approx(25.0)
    assert nps["ci_low"] < 25.0 < nps["ci_high"]
    assert metrics["volume"]["current"]["value"] == 40
    assert metrics["nps"]["comparison"]["difference"] == pytest.approx(50.0)
    channel = reader.get("/api/v1/metrics/", {"channel": "form", "days": 7}).json()
    assert {r["metric"]: r for r in channel["metrics"]}["volume"]["current"]["value"] == 1000
    bad_days = reader.get("/api/v1/metrics/", {"days": 0})
    assert bad_days.status_code == 400 and "days" in bad_days.json()["errors"]
    unknown = reader.get("/api/v1/metrics/", {"product": "nope"})
    assert unknown.status_code == 400 and "product" in unknown.json()["errors"]


def test_weekly_series_has_one_estimate_per_week():
    stat(today(), feedback_count=5)
    body = key_client(["insights:read"]).get("/api/v1/metrics/weekly/", {"weeks": 4}).json()
    assert len(body["weeks"]) == 4
    volume = body["metrics"]["volume"]
    assert len(volume) == 4 and volume[-1]["value"] == 5


def test_customers_walk_by_cursor_and_products_by_page(django_assert_max_num_queries):
    for n in range(12):
        CustomerFactory(name=f"c{n}")
    ProductFactory(slug="app")
    reader = key_client(["feedback:read"])
    with django_assert_max_num_queries(4):
        page = reader.get("/api/v1/customers/", {"page_size": 5}).json()
    assert len(page["results"]) == 5 and "count" not in page
    ids = [c["id"] for c in page["results"]]
    while page["next"]:
        page = reader.get(page["next"]).json()
        ids += [c["id"] for c in page["results"]]
    assert len(set(ids)) == 12
    assert reader.get("/api/v1/products/").json()["count"] == 1
    assert key_client(["insights:read"]).get("/api/v1/customers/").status_code == 403
