import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from customization.models import Segment
from feedback.services import record_feedback
from feedback.tests.factories import CustomerFactory, ProductFactory
from insights import services
from insights.models import Alert, FeedbackTheme, Theme
from insights.theme_services import refresh_daily_theme_stats

pytestmark = pytest.mark.django_db


def _links(fragment: str) -> list[tuple[str, int]]:
    return [
        (url.replace("&amp;", "&"), int(count))
        for url, count in re.findall(r'href="(/inbox/\?[^"]+)" data-count="(\d+)"', fragment)
    ]


def _inbox_count(client, url: str) -> int:
    return client.get(url).context["page"].paginator.count


@pytest.fixture
def checkout(settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 3
    app, tiny = ProductFactory(name="Shop app"), ProductFactory(name="Tiny app")
    segment = Segment.objects.create(name="Retail")
    theme = Theme.objects.create(name="Checkout", slug="checkout")
    now = timezone.now()
    for days_ago in (1, 2, 3, 9, 10, 16):
        customer = CustomerFactory()
        segment.customers.add(customer)
        record_feedback(
            channel="form",
            text="Checkout is bad, awful",
            product=app,
            customer=customer,
            received_at=now - dt.timedelta(days=days_ago),
        )
    record_feedback(
        channel="form", text="Checkout bad", product=tiny, received_at=now - dt.timedelta(days=2)
    )
    services.analyse_all_pending()
    from feedback.models import Feedback

    for feedback in Feedback.objects.all():
        FeedbackTheme.objects.get_or_create(
            feedback=feedback, theme=theme, defaults={"score": 1.0, "source": "manual"}
        )
    refresh_daily_theme_stats()
    return theme


def test_theme_table_links_each_volume_to_its_feedback_and_marks_emerging(
    client, manager, checkout
):
    Alert.objects.create(
        kind=Alert.Kind.EMERGING_THEME,
        fingerprint="emerging:x",
        title="Emerging",
        theme=checkout,
        last_seen_at=timezone.now(),
    )
    client.force_login(manager)
    html = client.get("/insights/themes/").content.decode()
    row = html[html.index(">Checkout</a>") : html.index("</tr>", html.index(">Checkout</a>"))]
    assert "Emerging" in row
    [(link, claimed)] = _links(row)
    assert claimed == 7 and _inbox_count(client, link) == 7
    assert re.search(r'aria-label="Feedback per week, oldest first: [0-9, ]+"', row)


def test_theme_page_shows_trend_control_chart_products_and_segments(client, manager, checkout):
    client.force_login(manager)
    html = client.get(f"/insights/themes/{checkout.pk}/").content.decode()
    assert "Control chart: weekly negative share of this theme" in html
    assert 'id="theme-score-tiles"' not in html  # no survey answers about it
    assert html.count("innovation/_theme_actions.html") == 0  # rendered, not printed
    trend = html[
        html.index('id="theme-trend-table"') : html.index(
            "</table>", html.index('id="theme-trend-table"')
        )
    ]
    for link, claimed in _links(trend):
        assert _inbox_count(client, link) == claimed
    products = html[html.index('id="theme-product-table"') :]
    products = products[: products.index("</table>")]
    assert "Shop app" in products
    tiny_row = products[
        products.index("Tiny app") : products.index("</tr>", products.index("Tiny app"))
    ]
    assert "&lt;3" in tiny_row and "/inbox/" not in tiny_row
    assert len(_links(products)) >= 2
    for link, claimed in _links(products):
        assert _inbox_count(client, link) == claimed
    segments = html[html.index('id="theme-segment-table"') :]
    segments = segments[: segments.index("</table>")]
    [volume_link, *_] = _links(segments)
    assert volume_link[1] == 6 and _inbox_count(client, volume_link[0]) == 6


def _raw_theme_totals(theme, feedback_filter) -> dict:
    """The theme's feedback counters computed in Python from the raw rows."""
    from feedback.models import Feedback

    items = list(Feedback.objects.filter(themes__theme=theme).filter(feedback_filter))
    analysed = [f for f in items if f.analysed_at is not None]
    return {
        "feedback_count": len(items),
        "analysed_count": len(analysed),
        "negative_count": sum(f.sentiment_label == "negative" for f in items),
        "sentiment_sum": sum(f.sentiment_score or 0 for f in items),
        "sentiment_sq_sum": sum((f.sentiment_score or 0) ** 2 for f in items),
    }


def test_theme_filters_read_theme_rollups_equal_to_the_raw_rows(
    checkout, django_assert_num_queries
):
    from django.db.models import Q

    from customization.segment_services import refresh_segment_membership
    from insights import dashboard_selectors
    from insights.dashboard_scope import Scope

    segment = Segment.objects.get(name="Retail")
    other = Segment.objects.create(name="Wholesale")
    customers = list(segment.customers.all())
    other.customers.add(*customers[:2])
    refresh_segment_membership(segment=other)
    today = timezone.now().astimezone(dt.UTC).date()
    scope = Scope(start=today - dt.timedelta(days=29), end=today + dt.timedelta(days=1))
    window = Q(
        received_at__gte=dt.datetime.combine(scope.start, dt.time.min, tzinfo=dt.UTC),
        received_at__lt=dt.datetime.combine(scope.end, dt.time.min, tzinfo=dt.UTC),
    )
    themed = scope.narrowed(theme=checkout)

    def assert_equal(sums, expected, label):
        for name, value in expected.items():
            assert sums[name] == pytest.approx(value), (label, name)

    with django_assert_num_queries(1):
        whole = dashboard_selectors.scoped_sums(themed)[None]
    assert_equal(whole, _raw_theme_totals(checkout, window), "all")
    assert whole["nps_promoters"] == whole["csat_count"] == 0  # no survey response here
    by_product = dashboard_selectors.scoped_sums(themed, group="product")
    assert len(by_product) == 2
    for product_id, sums in by_product.items():
        assert_equal(sums, _raw_theme_totals(checkout, window & Q(product_id=product_id)), "p")
    by_segment = dashboard_selectors.scoped_sums(themed, group="segment")
    assert set(by_segment) == {segment.pk, other.pk}
    for item in (segment, other):
        members = window & Q(customer__segments=item)
        assert_equal(by_segment[item.pk], _raw_theme_totals(checkout, members), item.name)
        filtered = dashboard_selectors.scoped_sums(themed.narrowed(segment=item))[None]
        assert_equal(filtered, _raw_theme_totals(checkout, members), item.name)
    by_week = dashboard_selectors.scoped_sums(themed, group="week")
    assert sum(sums["feedback_count"] for sums in by_week.values()) == whole["feedback_count"]

    # A membership change reaches the theme rows once the membership is refreshed.
    other.customers.add(*customers[2:4])
    refresh_segment_membership(segment=other)
    members = window & Q(customer__segments=other)
    assert_equal(
        dashboard_selectors.scoped_sums(themed.narrowed(segment=other))[None],
        _raw_theme_totals(checkout, members),
        "after refresh",
    )
    assert (
        dashboard_selectors.scoped_sums(themed.narrowed(segment=other))[None]["feedback_count"] == 4
    )


def test_a_manual_theme_link_is_counted_at_once(checkout):
    from feedback.models import Feedback
    from insights import dashboard_selectors
    from insights.dashboard_scope import Scope
    from insights.theme_services import set_manual_theme

    refunds = Theme.objects.create(name="Refunds", slug="refunds")
    today = timezone.now().astimezone(dt.UTC).date()
    scope = Scope(start=today - dt.timedelta(days=29), end=today + dt.timedelta(days=1))
    set_manual_theme(feedback=Feedback.objects.first(), theme=refunds)
    sums = dashboard_selectors.scoped_sums(scope.narrowed(theme=refunds))[None]
    assert sums["feedback_count"] == 1


def test_a_theme_filter_shows_the_theme_volume_forecast(client, manager, checkout):
    from insights.models import Forecast

    next_monday = timezone.now().date() + dt.timedelta(weeks=1)
    next_monday -= dt.timedelta(days=next_monday.weekday())
    for scope, theme, value in (("overall", None, 50.0), ("theme", checkout, 4.0)):
        Forecast.objects.create(
            metric="volume", scope=scope, theme=theme,
            scope_key=f"theme:{theme.pk}" if theme else "overall",
            generated_at=timezone.now(), history_end=next_monday - dt.timedelta(weeks=1),
            horizon=1, method="test",
            points=[{"week": next_monday.isoformat(), "value": value, "lower": 1.0, "upper": 9.0}],
        )  # fmt: skip
    client.force_login(manager)

    def forecast(query):
        html = client.get("/insights/", query).content.decode()
        data = re.search(r'id="series-data"[^>]*>(.*?)</script>', html, re.S).group(1)
        return [point["value"] for point in json.loads(data)["forecast"]]

    assert forecast({}) == [50.0]
    assert forecast({"theme": checkout.pk}) == [4.0]
    product = checkout.feedback_links.first().feedback.product
    assert forecast({"theme": checkout.pk, "product": product.slug}) == []


def test_survey_scores_reach_the_theme_rollups_page_and_filter_through_the_real_paths(
    client, manager, settings
):
    """Given responses submitted through the survey service, whose comments get a theme
    from a keyword rule at analysis; when the dirty days are swept and a segment's
    membership is refreshed; then each response's scores count once in the theme rollups,
    the theme page shows them and a theme filter sums them."""
    from customization.segment_services import refresh_segment_membership
    from insights import dashboard_selectors
    from insights.dashboard_scope import Scope
    from insights.models import DailyThemeSegmentStat, DailyThemeStat, KeywordRule
    from surveys.models import Question, Survey
    from surveys.services import submit_response

    settings.INSIGHTS_MIN_GROUP_SIZE = 3
    app = ProductFactory(name="Shop app")
    survey = Survey.objects.create(
        title="After checkout", slug="after-checkout", product=app, status=Survey.Status.OPEN
    )
    for position, (key, kind) in enumerate(
        [("nps", "nps"), ("csat", "csat"), ("why", "long_text"), ("else", "long_text")]
    ):
        Question.objects.create(survey=survey, key=key, position=position, kind=kind, text="?")
    delivery = Theme.objects.create(name="Delivery", slug="delivery")
    KeywordRule.objects.create(theme=delivery, keywords="parcel")
    customers = [CustomerFactory() for _ in range(4)]
    # Both comments of the first response carry the theme: its scores count once.
    for customer, nps, csat, why, other in [
        (customers[0], 10, 5, "The parcel came early", "Parcel was intact"),
        (customers[1], 3, 2, "Parcel lost twice", ""),
        (customers[2], 8, 4, "Fine", "Parcel fine"),
        (customers[3], 0, 1, "Price too high", ""),  # no theme: its scores stay out
    ]:
        submit_response(
            survey=survey, channel="link", customer=customer,
            answers={"nps": nps, "csat": csat, "why": why, "else": other},
        )  # fmt: skip
    services.analyse_all_pending()  # assigns the theme, sweeps the dirty day

    today = timezone.now().astimezone(dt.UTC).date()
    [row] = DailyThemeStat.objects.filter(theme=delivery, channel="survey")
    assert (row.day, row.product_id, row.customer_kind) == (today, app.pk, "external")
    assert row.feedback_count == 4  # the four comments carrying the theme
    assert (row.nps_promoters, row.nps_passives, row.nps_detractors) == (1, 1, 1)
    assert (row.csat_count, row.csat_sum, row.csat_sq_sum, row.csat_satisfied) == (3, 11, 45, 2)
    assert row.ces_count == 0

    # A segment's membership refresh recounts its theme rows with the scores.
    retail = Segment.objects.create(name="Retail")
    retail.customers.add(*customers[:2])
    refresh_segment_membership(segment=retail)
    [segment_row] = DailyThemeSegmentStat.objects.filter(theme=delivery, segment=retail)
    assert (segment_row.nps_promoters, segment_row.nps_detractors, segment_row.csat_sum) == (
        1, 1, 7,
    )  # fmt: skip

    scope = Scope(start=today - dt.timedelta(days=29), end=today + dt.timedelta(days=1))
    sums = dashboard_selectors.scoped_sums(scope.narrowed(theme=delivery))[None]
    assert (sums["nps_promoters"], sums["nps_detractors"], sums["csat_count"]) == (1, 1, 3)

    client.force_login(manager)
    html = client.get(f"/insights/themes/{delivery.pk}/").content.decode()
    tiles = html[html.index('id="theme-score-tiles"') :]
    tiles = tiles[: tiles.index("</section>")]
    assert "NPS" in tiles and "0.00" in tiles  # (1 − 1) / 3 answers
    assert "CSAT (1–5)" in tiles and "3.67" in tiles
    assert "CES" not in tiles  # no CES answer: no tile
