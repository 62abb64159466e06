import datetime as dt
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
