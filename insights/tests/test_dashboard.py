import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from customization.models import Segment
from feedback.services import record_feedback
from feedback.tests.factories import CustomerFactory, ProductFactory
from insights import services
from insights.models import FeedbackTheme, Forecast, Theme
from insights.tests.rollup_data import answer_survey, make_survey
from insights.theme_services import refresh_daily_theme_stats

pytestmark = pytest.mark.django_db

BAD = "Bad, very bad, awful"
GOOD = "Good, very good, lovely"


def _tile(html: str, label: str) -> str:
    start = html.index(f"<h2>{label}</h2>")
    return html[start : html.index("</article>", start)]


def _links(fragment: str) -> list[tuple[str, int]]:
    """(inbox URL, the count it claims) for every drill-down link in ``fragment``."""
    return [
        (url.replace("&amp;", "&"), int(count))
        for url, count in re.findall(r'href="(/inbox/\?[^"]+)" data-count="(\d+)"', fragment)
    ]


def _inbox_count(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["page"].paginator.count


def _assert_every_link_matches_the_inbox(client, fragment: str) -> int:
    links = _links(fragment)
    for url, claimed in links:
        assert _inbox_count(client, url) == claimed, url
    return len(links)


def _feedback(text=BAD, *, days_ago=1, **fields):
    return record_feedback(
        channel=fields.pop("channel", "form"),
        text=text,
        received_at=timezone.now() - dt.timedelta(days=days_ago),
        **fields,
    )


def _series(html: str) -> dict:
    """The time series the overview embeds for its chart."""
    return json.loads(re.search(r'id="series-data"[^>]*>(.*?)</script>', html, re.S).group(1))


def _table(html: str, table_id: str) -> str:
    start = html.index(f'id="{table_id}"')
    return html[start : html.index("</table>", start)]


def test_kpi_tiles_show_interval_significance_and_drill_down_to_the_same_count(client, manager):
    for days_ago in range(1, 13):
        _feedback(BAD, days_ago=days_ago)
    for days_ago in range(31, 34):
        _feedback(GOOD, days_ago=days_ago)
    _feedback("Too old", days_ago=90)
    services.analyse_all_pending()

    client.force_login(manager)
    html = client.get("/insights/").content.decode()

    volume = _tile(html, "Feedback volume")
    assert '<p class="value">12</p>' in volume
    assert "Before: 3" in volume and "interval" in volume
    assert "<strong>significant</strong>" in volume
    negative = _tile(html, "Negative share")
    assert '<p class="value">100%</p>' in negative and "<strong>significant</strong>" in negative
    sentiment = _tile(html, "Average sentiment (−1…1)")
    for tile in (volume, negative, sentiment):
        links = _links(tile)
        assert len(links) == 1 and links[0][1] == 12
        assert _inbox_count(client, links[0][0]) == 12


def test_a_tile_s_p_value_sits_in_its_brackets_without_a_gap(client, manager):
    for days_ago in (1, 2, 3, 31):
        _feedback(BAD, days_ago=days_ago)
    services.analyse_all_pending()
    client.force_login(manager)

    volume = _tile(client.get("/insights/").content.decode(), "Feedback volume")
    assert re.search(r"\(p=0\.\d{3}\)", volume), volume


def test_a_mean_just_below_zero_reads_0_00_not_minus_0_00_in_a_breakdown():
    from insights import dashboard
    from insights.analysis import stats

    estimate = stats.mean(stats.summary_of([0.5, -0.503]))
    assert dashboard.format_value("average_sentiment", estimate) == "0.00"
    assert dashboard.format_value("average_sentiment", stats.mean(stats.summary_of([-1, 0]))) == (
        "-0.50"
    )


def test_a_share_shows_its_interval_in_percent_and_its_change_in_points(client, manager):
    """Given 0 of 10 feedback negative in the previous 30 days and 5 of 10 in the last 30,
    the negative share reads 50 %, its Wilson interval 24 % to 76 %, and the change +50
    points with its Wald interval (SE = √(.5 · .5 / 10) = .1581, ± 1.96 · SE = ± 31),
    on the tile and on the trends page alike."""
    for days_ago in range(1, 11):
        _feedback(BAD if days_ago <= 5 else GOOD, days_ago=days_ago)
    for days_ago in range(31, 41):
        _feedback(GOOD, days_ago=days_ago)
    services.analyse_all_pending()
    client.force_login(manager)

    negative = _tile(client.get("/insights/").content.decode(), "Negative share")
    assert '<p class="value">50%</p>' in negative
    assert "95% interval 24% to 76% · n=10" in negative
    assert "Before: 0%" in negative
    assert "Change +50 pts (+19 pts to +81 pts)" in negative

    trends = client.get("/insights/trends/").content.decode()
    row = trends[trends.index('<th scope="row">Negative share') :]
    row = row[: row.index("</tr>")]
    assert "0% <small" in row and "[0%, 28%]" in row
    assert "50% <small" in row and "[24%, 76%]" in row
    assert "+50 pts <small" in row and "[+19 pts, +81 pts]" in row
    assert "0.500" not in row


def test_dashboard_tiles_say_when_there_is_no_data(client, manager):
    client.force_login(manager)
    html = client.get("/insights/").content.decode()
    for label in ("NPS", "CSAT (1–5)", "CES (1–7)", "Survey response rate"):
        assert "No data in this period" in _tile(html, label)
        assert "Not enough data to compare" in _tile(html, label)


def test_survey_scores_and_response_rate_fill_their_tiles(client, manager):
    from surveys.tests.factories import InvitationFactory

    survey = make_survey()
    now = timezone.now()
    for score in (10, 10, 9, 3):
        answer_survey(survey, submitted_at=now - dt.timedelta(days=2), nps=score, csat=4, ces=6)
    for answered in (True, False, False, False):
        InvitationFactory(
            survey=survey,
            sent_at=now - dt.timedelta(days=3),
            answered_at=now if answered else None,
        )
    services.refresh_daily_stats()
    client.force_login(manager)
    html = client.get("/insights/").content.decode()
    assert '<p class="value">50.00</p>' in _tile(html, "NPS")  # (3 − 1) / 4
    assert '<p class="value">4.00</p>' in _tile(html, "CSAT (1–5)")
    assert '<p class="value">6.00</p>' in _tile(html, "CES (1–7)")
    assert '<p class="value">25%</p>' in _tile(html, "Survey response rate")


def test_response_rate_says_it_is_not_counted_under_a_filter_invitations_lack(client, manager):
    from surveys.tests.factories import InvitationFactory

    InvitationFactory(survey=make_survey(), sent_at=timezone.now() - dt.timedelta(days=3))
    theme = Theme.objects.create(name="Billing", slug="billing")
    client.force_login(manager)

    for query in ({"channel": "email"}, {"theme": theme.pk}):
        rate = _tile(client.get("/insights/", query).content.decode(), "Survey response rate")
        assert "No data in this period" not in rate, query
        assert "Not counted with a theme or a channel other than surveys" in rate, query
    rate = _tile(
        client.get("/insights/", {"channel": "survey"}).content.decode(), "Survey response rate"
    )
    assert '<p class="value">0%</p>' in rate


def test_product_filter_narrows_tiles_and_drill_down(client, manager):
    app = ProductFactory(slug="app", name="App")
    for days_ago in (1, 2, 3, 20):
        _feedback("Crashes again", days_ago=days_ago, product=app)
    _feedback("Fine", days_ago=2)
    services.analyse_all_pending()
    client.force_login(manager)

    page = client.get("/insights/", {"days": 7, "product": "app"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "(7 days) compared with the 7 days before, App only" in html
    volume = _tile(html, "Feedback volume")
    assert '<p class="value">3</p>' in volume
    [(link, claimed)] = _links(volume)
    assert "product=app" in link and claimed == 3
    assert _inbox_count(client, link) == 3


def test_custom_range_channel_kind_and_theme_filters_match_the_inbox(client, manager, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 3
    staff_customer = CustomerFactory(kind="internal", department="Finance")
    for days_ago in (3, 4, 5, 6, 7, 8):
        _feedback(BAD, days_ago=days_ago, channel="email", customer=staff_customer)
    for days_ago in (3, 4, 5, 6, 40):
        _feedback(BAD, days_ago=days_ago, channel="review")
    services.analyse_all_pending()
    theme = Theme.objects.create(name="Checkout", slug="checkout")
    for item in _feedback_ids(channel="review"):
        FeedbackTheme.objects.create(feedback_id=item, theme=theme, score=1.0, source="manual")
    refresh_daily_theme_stats()
    client.force_login(manager)
    today = timezone.now().date()
    custom = {
        "date_from": (today - dt.timedelta(days=6)).isoformat(),
        "date_to": (today - dt.timedelta(days=2)).isoformat(),
    }
    cases = [
        ({"channel": "email"}, 4),
        ({"customer_kind": "internal"}, 4),
        ({"customer_kind": "external"}, 4),
        ({"theme": theme.pk}, 4),
        ({}, 8),
    ]
    for extra, expected in cases:
        html = client.get("/insights/", {**custom, **extra}).content.decode()
        volume = _tile(html, "Feedback volume")
        assert f'<p class="value">{expected}</p>' in volume, extra
        [(link, claimed)] = _links(volume)
        assert claimed == expected
        assert _inbox_count(client, link) == expected, extra


def _feedback_ids(**filters):
    from feedback.models import Feedback

    return list(Feedback.objects.filter(**filters).values_list("pk", flat=True))


def test_segment_filter_counts_the_members_and_hides_small_segments(client, manager, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 5
    members = [CustomerFactory() for _ in range(3)]
    big = Segment.objects.create(name="Key accounts")
    big.customers.add(*members)
    small = Segment.objects.create(name="One person")
    small.customers.add(members[0])
    for days_ago in range(1, 7):
        _feedback(BAD, days_ago=days_ago, customer=members[days_ago % 3])
    _feedback(BAD, days_ago=2)  # anonymous: in no segment
    services.analyse_all_pending()
    client.force_login(manager)

    html = client.get("/insights/", {"segment": big.pk}).content.decode()
    volume = _tile(html, "Feedback volume")
    assert '<p class="value">6</p>' in volume
    [(link, claimed)] = _links(volume)
    assert f"segment={big.pk}" in link and claimed == 6
    assert _inbox_count(client, link) == 6

    html = client.get("/insights/", {"segment": small.pk}).content.decode()
    volume = _tile(html, "Feedback volume")
    assert "Hidden: fewer than 5 in this group" in volume
    assert _links(volume) == []
    assert '<p class="value">2</p>' not in volume


def test_channel_and_customer_kind_breakdowns_link_to_the_same_counts(client, manager):
    for days_ago in range(1, 7):
        _feedback(BAD, days_ago=days_ago, channel="review")
    for days_ago in range(1, 6):
        _feedback(
            GOOD,
            days_ago=days_ago,
            channel="email",
            customer=CustomerFactory(kind="internal", department="Finance"),
        )
    services.analyse_all_pending()
    client.force_login(manager)
    html = client.get("/insights/").content.decode()
    channels = _table(html, "channel-table")
    assert "Online review" in channels and "Email" in channels
    assert _assert_every_link_matches_the_inbox(client, channels) >= 4
    kinds = _table(html, "kind-table")
    assert "Internal" in kinds and "External" in kinds
    assert _assert_every_link_matches_the_inbox(client, kinds) >= 4
    bars = json.loads(re.search(r'id="channel-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    by_label = {bar["label"]: bar for bar in bars}
    assert by_label["Online review"]["volume"] == 6
    assert _inbox_count(client, by_label["Online review"]["volume_link"]) == 6
    assert _inbox_count(client, by_label["Email"]["volume_link"]) == 5


def test_small_groups_in_breakdowns_are_hidden_without_links(client, manager, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 5
    for days_ago in range(1, 7):
        _feedback(BAD, days_ago=days_ago, channel="review")
    for days_ago in (1, 2):
        _feedback(BAD, days_ago=days_ago, channel="interview")
    services.analyse_all_pending()
    client.force_login(manager)
    html = client.get("/insights/").content.decode()
    channels = _table(html, "channel-table")
    interview_row = channels[
        channels.index("Interview") : channels.index("</tr>", channels.index("Interview"))
    ]
    assert "&lt;5" in interview_row and "/inbox/" not in interview_row
    bars = json.loads(re.search(r'id="channel-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    interview = next(bar for bar in bars if bar["label"] == "Interview")
    assert interview["volume"] is None and interview["volume_link"] == ""

    settings.INSIGHTS_MIN_GROUP_SIZE = 2
    html = client.get("/insights/").content.decode()
    channels = _table(html, "channel-table")
    interview_row = channels[
        channels.index("Interview") : channels.index("</tr>", channels.index("Interview"))
    ]
    assert "&lt;2" not in interview_row and "/inbox/" in interview_row


def test_time_series_points_link_to_their_feedback_and_show_the_forecast(client, manager):
    for days_ago in (1, 8, 9, 15):
        _feedback(BAD, days_ago=days_ago)
    services.analyse_all_pending()
    today = timezone.now().date()
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    Forecast.objects.create(
        metric="volume",
        scope="overall",
        scope_key="overall",
        generated_at=timezone.now(),
        history_end=next_monday - dt.timedelta(weeks=2),
        horizon=1,
        method="test",
        points=[{"week": next_monday.isoformat(), "value": 3.0, "lower": 1.0, "upper": 5.0}],
    )
    client.force_login(manager)
    html = client.get("/insights/").content.decode()
    series = _series(html)
    assert len(series["points"]) == 52 and series["interval"] == "week"
    assert sum(point["volume"] for point in series["points"]) == 4
    for point in series["points"]:
        if point["volume"]:
            assert _inbox_count(client, point["link"]) == point["volume"]
    assert series["forecast"] == [
        {"period": next_monday.isoformat(), "value": 3.0, "lower": 1.0, "upper": 5.0}
    ]
    assert _assert_every_link_matches_the_inbox(client, _table(html, "series-table")) >= 2

    monthly = client.get("/insights/", {"interval": "month"}).content.decode()
    series = _series(monthly)
    assert len(series["points"]) == 24 and series["forecast"] == []
    assert sum(point["volume"] for point in series["points"]) == 4


def test_the_forecast_continues_the_series_only_when_the_series_reaches_it(client, manager):
    today = timezone.now().astimezone(dt.UTC).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    weeks = [this_monday + dt.timedelta(weeks=n) for n in range(2)]
    Forecast.objects.create(
        metric="volume", scope="overall", scope_key="overall", generated_at=timezone.now(),
        history_end=this_monday - dt.timedelta(weeks=1), horizon=2, method="test",
        points=[{"week": w.isoformat(), "value": 3.0, "lower": 1.0, "upper": 5.0} for w in weeks],
    )  # fmt: skip
    client.force_login(manager)

    def forecast_weeks(query):
        series = _series(client.get("/insights/", query).content.decode())
        return [point["period"] for point in series["forecast"]]

    expected = [w.isoformat() for w in weeks]
    assert forecast_weeks({}) == expected  # the last 30 days run into this week
    last_sunday = this_monday - dt.timedelta(days=1)
    up_to_last_week = {
        "date_from": (last_sunday - dt.timedelta(days=29)).isoformat(),
        "date_to": last_sunday.isoformat(),
    }
    assert forecast_weeks(up_to_last_week) == expected  # the forecast follows on
    # A range that ended months ago: this week's forecast is not its continuation.
    spring = {
        "date_from": (today - dt.timedelta(days=120)).isoformat(),
        "date_to": (today - dt.timedelta(days=91)).isoformat(),
    }
    assert forecast_weeks(spring) == []


@pytest.mark.parametrize(
    "query, message",
    [
        ({"days": "5"}, "Select a valid choice"),
        ({"product": "no-such-product"}, "Select a valid choice"),
        ({"segment": "999999"}, "Select a valid choice"),
        ({"channel": "pigeon"}, "Select a valid choice"),
        ({"date_from": "2026-01-01"}, "Give both ends of a custom range"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "must end on or after"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, "at most 731 days"),
        ({"date_from": "yesterday", "date_to": "2026-01-01"}, "Enter a valid date"),
    ],
)
def test_bad_filters_are_400_with_the_form_error(client, manager, query, message):
    client.force_login(manager)
    page = client.get("/insights/", query)
    assert page.status_code == 400
    assert message in page.content.decode()


@pytest.mark.parametrize("url", ["/insights/", "/insights/rankings/"])
def test_a_range_in_the_calendar_s_first_years_is_a_400_not_a_crash(client, manager, url):
    # The page compares with the range before and charts the year before: from year 1
    # those days do not exist.
    client.force_login(manager)
    page = client.get(url, {"date_from": "0001-01-01", "date_to": "0001-01-31"})
    assert page.status_code == 400
    assert "A range starts on 1970-01-01 or later." in page.content.decode()


def test_the_scope_summary_names_the_channel_as_the_filter_does(client, manager):
    client.force_login(manager)
    html = client.get("/insights/", {"channel": "focus_group"}).content.decode()
    summary = html[html.index('id="scope-summary"') :]
    summary = summary[: summary.index("</p>")]
    assert "channel Focus group" in summary and "focus_group" not in summary


def test_filters_are_kept_in_the_links_so_the_view_can_be_bookmarked(client, manager):
    ProductFactory(slug="app", name="App")
    client.force_login(manager)
    html = client.get(
        "/insights/", {"days": 7, "product": "app", "channel": "email"}
    ).content.decode()
    today = timezone.now().date()
    expected = f"date_from={(today - dt.timedelta(days=6)).isoformat()}&amp;date_to={today.isoformat()}&amp;product=app&amp;channel=email"
    assert f"/insights/rankings/?{expected}" in html
    assert f"?{expected}&amp;format=csv&amp;table=kpis" in html


@pytest.mark.parametrize(
    "url", ["/insights/", "/insights/rankings/", "/insights/?format=csv&table=kpis"]
)
def test_dashboard_pages_are_for_managers_only(client, staff_member, outsider, manager, url):
    assert client.get(url).status_code == 302
    for user in (outsider, staff_member):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(manager)
    assert client.get(url).status_code == 200


def test_dashboard_query_count_does_not_grow_with_data(
    client, manager, django_assert_max_num_queries
):
    segment = Segment.objects.create(name="Everyone")
    for n in range(12):
        product = ProductFactory()
        customer = (
            CustomerFactory(kind="internal", department="Ops") if n % 2 else CustomerFactory()
        )
        segment.customers.add(customer)
        for channel in ("form", "email", "review"):
            _feedback(BAD, days_ago=n + 1, channel=channel, product=product, customer=customer)
    services.analyse_all_pending()
    client.force_login(manager)
    with django_assert_max_num_queries(25):
        assert client.get("/insights/").status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get("/insights/", {"segment": segment.pk}).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get("/insights/rankings/").status_code == 200


def test_rankings_put_the_worst_served_product_and_segment_first(client, manager, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 3
    good, bad, tiny = (
        ProductFactory(name="Good app"),
        ProductFactory(name="Bad app"),
        ProductFactory(name="Tiny app"),
    )
    happy, unhappy = Segment.objects.create(name="Happy"), Segment.objects.create(name="Unhappy")
    for n in range(4):
        customer = CustomerFactory()
        happy.customers.add(customer)
        _feedback(GOOD, days_ago=n + 1, product=good, customer=customer)
        other = CustomerFactory()
        unhappy.customers.add(other)
        _feedback(BAD, days_ago=n + 1, product=bad, customer=other)
    _feedback(BAD, days_ago=1, product=tiny)
    services.analyse_all_pending()
    client.force_login(manager)
    html = client.get("/insights/rankings/").content.decode()
    products = _table(html, "product-table")
    assert products.index("Bad app") < products.index("Good app") < products.index("Tiny app")
    tiny_row = products[
        products.index("Tiny app") : products.index("</tr>", products.index("Tiny app"))
    ]
    assert "&lt;3" in tiny_row and "/inbox/" not in tiny_row
    segments = _table(html, "segment-table")
    assert segments.index("Unhappy") < segments.index("Happy<")
    assert _assert_every_link_matches_the_inbox(client, products) >= 5
    assert _assert_every_link_matches_the_inbox(client, segments) >= 5

    by_sentiment = client.get("/insights/rankings/", {"rank": "average_sentiment"}).content.decode()
    products = _table(by_sentiment, "product-table")
    assert products.index("Bad app") < products.index("Good app")
    assert client.get("/insights/rankings/", {"rank": "shoe_size"}).status_code == 400


def test_an_inactive_product_s_ranking_row_opens_its_dashboard(client, manager):
    retired = ProductFactory(slug="old-app", name="Old app", active=False)
    for days_ago in (1, 2):
        _feedback(BAD, days_ago=days_ago, product=retired)
    services.analyse_all_pending()
    client.force_login(manager)

    products = _table(client.get("/insights/rankings/").content.decode(), "product-table")
    link = re.search(r'<a href="(/insights/\?[^"]+)">Old app</a>', products).group(1)
    page = client.get(link.replace("&amp;", "&"))
    assert page.status_code == 200
    assert page.context["scope"].product == retired
    assert '<p class="value">2</p>' in _tile(page.content.decode(), "Feedback volume")
    assert '<option value="old-app" selected>Old app (inactive)</option>' in page.content.decode()


def test_segment_ranking_includes_survey_scores_of_members(client, manager, settings):
    settings.INSIGHTS_MIN_GROUP_SIZE = 2
    segment = Segment.objects.create(name="Detractors")
    survey = make_survey()
    now = timezone.now()
    for score in (1, 2, 9):
        customer = CustomerFactory()
        segment.customers.add(customer)
        answer_survey(survey, submitted_at=now - dt.timedelta(days=1), nps=score, customer=customer)
    answer_survey(survey, submitted_at=now - dt.timedelta(days=1), nps=10)  # anonymous
    services.refresh_daily_stats()  # the scheduled recount of recent days
    client.force_login(manager)
    segments = _table(client.get("/insights/rankings/").content.decode(), "segment-table")
    assert "-33.33" in segments  # (1 promoter − 2 detractors) / 3


def _raw_segment_totals(segment, start, end):
    """The segment's feedback and NPS answers in [start, end), counted from raw rows."""
    from feedback.models import Feedback
    from surveys.models import Answer

    feedback = Feedback.objects.filter(
        customer__segments=segment, received_at__gte=start, received_at__lt=end
    )
    answers = Answer.objects.filter(
        response__customer__segments=segment,
        response__submitted_at__gte=start,
        response__submitted_at__lt=end,
        question__kind="nps",
        number__isnull=False,
    )
    return {
        "feedback_count": feedback.count(),
        "analysed_count": feedback.filter(analysed_at__isnull=False).count(),
        "negative_count": feedback.filter(sentiment_label="negative").count(),
        "sentiment_sum": sum(f.sentiment_score or 0 for f in feedback),
        "nps_promoters": answers.filter(number__gte=9).count(),
        "nps_detractors": answers.filter(number__lt=7).count(),
    }


def test_segment_rollup_matches_the_raw_rows_and_follows_membership(manager):
    from customization.segment_services import refresh_segment_membership
    from insights import dashboard_selectors
    from insights.dashboard_scope import Scope

    app, web = ProductFactory(), ProductFactory()
    north, south = Segment.objects.create(name="North"), Segment.objects.create(name="South")
    customers = [
        CustomerFactory(kind="internal", department="Ops") if n % 3 == 0 else CustomerFactory()
        for n in range(6)
    ]
    north.customers.add(*customers[:4])
    south.customers.add(*customers[2:])  # two customers in both segments
    survey = make_survey()
    now = timezone.now()
    for n in range(18):
        _feedback(
            GOOD if n % 3 else BAD,
            days_ago=n % 9 + 1,
            channel=("form", "email", "review")[n % 3],
            product=(app, web, None)[n % 3],
            customer=customers[n % 6],
        )
        answer_survey(
            survey,
            submitted_at=now - dt.timedelta(days=n % 5 + 1),
            nps=n % 11,
            customer=customers[n % 6],
        )
    _feedback(BAD, days_ago=2)  # anonymous: in no segment
    services.analyse_all_pending()
    services.refresh_daily_stats()

    today = now.astimezone(dt.UTC).date()
    scope = Scope(start=today - dt.timedelta(days=30), end=today + dt.timedelta(days=1))
    midnight = dt.datetime.combine(scope.start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(scope.end, dt.time.min, tzinfo=dt.UTC)
    by_segment = dashboard_selectors.scoped_sums(scope, group="segment")
    for segment in (north, south):
        expected = _raw_segment_totals(segment, midnight, until)
        filtered = dashboard_selectors.scoped_sums(scope.narrowed(segment=segment))[None]
        for sums in (filtered, by_segment[segment.pk]):
            for name, value in expected.items():
                assert sums[name] == pytest.approx(value), (segment.name, name)
    product_only = dashboard_selectors.scoped_sums(
        scope.narrowed(segment=north, product=app), group="channel"
    )
    assert sum(row["feedback_count"] for row in product_only.values()) == (
        north.customers.filter(feedback__product=app).count()
    )

    # A membership change is counted once the membership is refreshed.
    north.customers.add(customers[5])
    refresh_segment_membership(segment=north)
    filtered = dashboard_selectors.scoped_sums(scope.narrowed(segment=north))[None]
    expected = _raw_segment_totals(north, midnight, until)
    assert filtered["feedback_count"] == expected["feedback_count"] == 15
    assert filtered["nps_promoters"] == expected["nps_promoters"]


def test_overview_is_cached_until_the_rollups_are_recounted(client, manager):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for days_ago in (1, 2):
        _feedback(BAD, days_ago=days_ago)
    services.analyse_all_pending()
    client.force_login(manager)
    with CaptureQueriesContext(connection) as first:
        html = client.get("/insights/").content.decode()
    assert '<p class="value">2</p>' in _tile(html, "Feedback volume")
    with CaptureQueriesContext(connection) as second:
        html = client.get("/insights/").content.decode()
    assert '<p class="value">2</p>' in _tile(html, "Feedback volume")
    assert len(second) < len(first)  # the computed block came from the cache

    _feedback(BAD, days_ago=1)
    services.analyse_all_pending()  # recounts the day: a new rollup version
    html = client.get("/insights/").content.decode()
    assert '<p class="value">3</p>' in _tile(html, "Feedback volume")
    [(link, claimed)] = _links(_tile(html, "Feedback volume"))
    assert claimed == 3 and _inbox_count(client, link) == 3


@pytest.mark.parametrize("query", [{}, {"channel": "email"}, {"days": 90}])
def test_period_select_shows_the_period_the_page_uses(client, manager, query):
    client.force_login(manager)
    page = client.get("/insights/", query)
    days = query.get("days", 30)
    assert (page.context["scope"].end - page.context["scope"].start).days == days
    selected = re.findall(r'<option value="(\d+)" selected>', page.content.decode())
    assert selected == [str(days)]


def test_a_single_answer_shows_too_few_answers_instead_of_an_interval(client, manager):
    survey = make_survey()
    answer_survey(survey, submitted_at=timezone.now() - dt.timedelta(days=2), nps=0, csat=4)
    services.refresh_daily_stats()
    client.force_login(manager)

    html = client.get("/insights/").content.decode()
    nps, csat = _tile(html, "NPS"), _tile(html, "CSAT (1–5)")
    assert "Too few answers for an interval (n=1)" in nps
    assert "-100.00 to -100.00" not in nps
    assert "Too few answers (n=1)" in csat and "No data" not in csat

    trends = client.get("/insights/trends/").content.decode()
    assert "[-100.000, -100.000]" not in trends
    assert trends.count("Too few answers (n=1)") >= 2  # NPS and CSAT, this period


def test_one_answer_against_one_is_not_called_a_significant_change(client, manager):
    survey = make_survey()
    now = timezone.now()
    answer_survey(survey, submitted_at=now - dt.timedelta(days=40), nps=10)
    answer_survey(survey, submitted_at=now - dt.timedelta(days=2), nps=0)
    services.refresh_daily_stats()
    client.force_login(manager)

    nps = _tile(client.get("/insights/").content.decode(), "NPS")
    assert "not significant" in nps and "<strong>significant</strong>" not in nps
    assert "-200.00 to -200.00" not in nps


def test_a_403_is_logged_as_one_line_without_a_traceback(client, staff_member, caplog):
    import logging

    client.force_login(staff_member)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/insights/").status_code == 403

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /insights/"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
