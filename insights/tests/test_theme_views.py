"""Codebook pages: who may read, who may curate, and what bad input gets."""

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.tests.factories import FeedbackFactory
from insights.models import AnalysisRun, FeedbackTheme, KeywordRule, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery():
    theme = Theme.objects.create(
        name="Delivery <late>", slug="delivery", top_terms=["courier", "late"]
    )
    quote = FeedbackFactory(text="The courier was <b>late</b> again")
    FeedbackTheme.objects.create(feedback=quote, theme=theme, score=0.8, source="model")
    theme.quotes = [quote.pk]
    theme.save()
    return theme


@pytest.mark.parametrize("name", ["insights:themes"])
def test_anonymous_visitors_are_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("actor", ["outsider", "staff_member"])
def test_users_without_insights_permission_get_403(client, request, actor, delivery):
    client.force_login(request.getfixturevalue(actor))
    assert client.get(reverse("insights:themes")).status_code == 403
    assert client.get(reverse("insights:theme_detail", args=[delivery.pk])).status_code == 403
    response = client.post(reverse("insights:theme_rename", args=[delivery.pk]), {"name": "X"})
    assert response.status_code == 403
    assert Theme.objects.get(pk=delivery.pk).name == "Delivery <late>"


def test_manager_sees_the_codebook_and_the_theme_page_escaped(
    client, manager, delivery, django_assert_max_num_queries
):
    client.force_login(manager)
    # A constant number: one of them counts the themed feedback, the share's denominator.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("insights:themes"))
    assert response.status_code == 200
    assert "Delivery &lt;late&gt;" in response.content.decode()

    page = client.get(reverse("insights:theme_detail", args=[delivery.pk])).content.decode()
    assert "The courier was &lt;b&gt;late&lt;/b&gt; again" in page
    assert f"?theme={delivery.pk}" in page
    assert "Rename" in page  # managers curate


def test_manager_renames_pins_and_archives(client, manager, delivery):
    client.force_login(manager)

    client.post(reverse("insights:theme_rename", args=[delivery.pk]), {"name": "Late deliveries"})
    client.post(reverse("insights:theme_pin", args=[delivery.pk]), {"pinned": "on"})
    response = client.post(
        reverse("insights:theme_status", args=[delivery.pk]), {"status": "archived"}
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.name, delivery.pinned, delivery.status, delivery.curated) == (
        "Late deliveries",
        True,
        "archived",
        True,
    )


def test_blank_rename_re_renders_with_a_field_error(client, manager, delivery):
    client.force_login(manager)

    response = client.post(reverse("insights:theme_rename", args=[delivery.pk]), {"name": ""})

    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_merge_into_itself_is_not_offered_and_refused(client, manager, delivery):
    client.force_login(manager)

    response = client.post(
        reverse("insights:theme_merge", args=[delivery.pk]), {"target": delivery.pk}
    )

    assert response.status_code == 400
    assert Theme.objects.get(pk=delivery.pk).status == "active"


def test_manager_adds_and_removes_a_keyword_rule(
    client, manager, delivery, django_capture_on_commit_callbacks
):
    client.force_login(manager)

    with django_capture_on_commit_callbacks():
        client.post(
            reverse("insights:theme_rule_add", args=[delivery.pk]), {"keywords": "parcel, courier"}
        )
    rule = KeywordRule.objects.get()
    assert rule.keywords == "parcel, courier" and rule.created_by == manager
    bad = client.post(reverse("insights:theme_rule_add", args=[delivery.pk]), {"keywords": " , "})
    assert bad.status_code == 400

    with django_capture_on_commit_callbacks():
        client.post(reverse("insights:theme_rule_delete", args=[delivery.pk, rule.pk]))
    assert not KeywordRule.objects.exists()


def test_get_on_an_action_is_refused(client, manager, delivery):
    client.force_login(manager)
    assert client.get(reverse("insights:theme_rename", args=[delivery.pk])).status_code == 405


def test_inbox_and_api_filter_by_theme_with_the_count_the_codebook_shows(client, manager, delivery):
    FeedbackFactory(text="Unrelated praise")
    other = FeedbackFactory(text="Also about delivery")
    FeedbackTheme.objects.create(feedback=other, theme=delivery, score=0.5, source="rule")
    client.force_login(manager)
    page = client.get(reverse("feedback:inbox"), {"theme": delivery.pk})
    assert page.status_code == 200
    shown = {f.pk for f in page.context["page"].object_list}
    assert shown == set(delivery.feedback_links.values_list("feedback_id", flat=True))
    # Numbered pages (?page=) carry the total; the default cursor pages do not.
    api = client.get("/api/v1/feedback/", {"theme": delivery.pk, "page": 1})
    assert api.json()["count"] == 2


def test_codebook_share_is_of_themed_feedback_counting_each_feedback_once(client, manager):
    from insights.theme_selectors import codebook
    from insights.theme_services import refresh_daily_theme_stats

    a, b, c = (Theme.objects.create(name=n, slug=n.lower()) for n in ("A", "B", "C"))
    three_themes, only_a, only_b = FeedbackFactory(), FeedbackFactory(), FeedbackFactory()
    FeedbackFactory()  # no theme: not in the denominator
    for feedback, themes in ((three_themes, (a, b, c)), (only_a, (a,)), (only_b, (b,))):
        for theme in themes:
            FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=1, source="manual")
    refresh_daily_theme_stats()

    shares = {row["theme"].name: row["share"] for row in codebook()}

    # 3 themed feedback (5 theme links): A and B are on 2 of them, C on 1.
    assert shares == {
        "A": pytest.approx(2 / 3),
        "B": pytest.approx(2 / 3),
        "C": pytest.approx(1 / 3),
    }
    client.force_login(manager)
    html = client.get(reverse("insights:themes")).content.decode()
    assert "Share of themed feedback" in html


def test_keyword_rule_with_a_trailing_wildcard_matches_every_ending_and_says_how_many(
    client, manager, delivery
):
    from insights import services
    from insights.tasks import apply_keyword_rules_task

    for text in ("The app crashes", "It crashed twice", "Crashing on login", "crash!"):
        FeedbackFactory(text=text)
    FeedbackFactory(text="A car crash-test video")  # "crash" is a whole word here too
    FeedbackFactory(text="Smooth checkout, no problems")
    client.force_login(manager)
    url = reverse("insights:theme_rule_add", args=[delivery.pk])
    page = client.get(reverse("insights:theme_detail", args=[delivery.pk])).content.decode()
    assert "crash* matches crash, crashes" in page

    response = client.post(url, {"keywords": "crash*"}, follow=True)

    assert "it matches 5 feedback" in response.content.decode()
    apply_keyword_rules_task(delivery.pk)  # what the worker runs
    rule_links = FeedbackTheme.objects.filter(theme=delivery, source="rule")
    assert rule_links.count() == 5
    later = FeedbackFactory(text="crashes again")
    services.analyse_pending_batch()
    assert FeedbackTheme.objects.filter(feedback=later, theme=delivery, source="rule").exists()
    bad = client.post(url, {"keywords": "cr*sh"})
    assert bad.status_code == 400 and "only once, at the end" in bad.content.decode()


def test_theme_page_calls_the_link_score_a_match(client, manager, delivery):
    client.force_login(manager)
    page = client.get(reverse("insights:theme_detail", args=[delivery.pk])).content.decode()
    assert '">Match</th>' in page and '<th scope="col">Score</th>' not in page


def test_merge_offers_themes_that_take_feedback_and_explains_a_stale_choice(
    client, manager, delivery
):
    from insights.theme_services import merge_themes

    couriers = Theme.objects.create(name="Couriers", slug="couriers")
    shipping = Theme.objects.create(name="Shipping", slug="shipping")
    archived = Theme.objects.create(name="Old", slug="old", status="archived")
    client.force_login(manager)
    page = client.get(reverse("insights:theme_detail", args=[delivery.pk]))
    offered = {choice for choice, _ in page.context["merge_form"].fields["target"].choices}
    assert {couriers.pk, shipping.pk} <= offered and archived.pk not in offered
    merge_themes(source=couriers, target=shipping)  # another manager, meanwhile

    response = client.post(
        reverse("insights:theme_merge", args=[delivery.pk]), {"target": couriers.pk}
    )

    assert response.status_code == 400
    assert "“Couriers” has been merged into another theme meanwhile." in response.content.decode()
    assert Theme.objects.get(pk=delivery.pk).status == "active"


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("theme_rename", {"name": "Revived"}),
        ("theme_merge", {"target": "target"}),  # the merge form sent twice
        ("theme_split", {"keywords": "courier", "name": "Couriers"}),
        ("theme_pin", {"pinned": "on"}),
        ("theme_status", {"status": "archived"}),
        ("theme_rule_add", {"keywords": "parcel"}),
    ],
)
def test_curating_a_theme_merged_meanwhile_changes_nothing_and_says_where_it_went(
    client, manager, delivery, action, data, django_capture_on_commit_callbacks
):
    from insights.theme_services import merge_themes

    shipping = Theme.objects.create(name="Shipping", slug="shipping")
    merge_themes(source=delivery, target=shipping)  # another manager, meanwhile
    client.force_login(manager)
    data = {key: shipping.pk if value == "target" else value for key, value in data.items()}

    with django_capture_on_commit_callbacks():
        response = client.post(reverse(f"insights:{action}", args=[delivery.pk]), data, follow=True)

    assert response.redirect_chain == [(reverse("insights:theme_detail", args=[shipping.pk]), 302)]
    assert (
        "“Delivery &lt;late&gt;” has been merged into “Shipping”; nothing was changed."
        in response.content.decode()
    )
    delivery.refresh_from_db()
    assert (delivery.name, delivery.pinned, delivery.status) == ("Delivery <late>", False, "merged")
    assert Theme.objects.count() == 2 and not KeywordRule.objects.exists()


def test_removing_a_rule_already_removed_says_so(
    client, manager, delivery, django_capture_on_commit_callbacks
):
    rule = KeywordRule.objects.create(theme=delivery, keywords="parcel")
    client.force_login(manager)
    url = reverse("insights:theme_rule_delete", args=[delivery.pk, rule.pk])
    with django_capture_on_commit_callbacks():
        client.post(url)

    response = client.post(url, follow=True)

    assert response.redirect_chain == [(reverse("insights:theme_detail", args=[delivery.pk]), 302)]
    assert "That keyword rule had already been removed." in response.content.decode()


def _discover_now(client, capture_on_commit) -> tuple[str, list]:
    """Press "Discover themes now"; the page it leads to and the callbacks it queued."""
    with capture_on_commit() as callbacks:
        response = client.post(reverse("insights:themes_discover"), follow=True)
    return response.content.decode(), callbacks


def test_discover_now_with_too_little_feedback_says_how_much_it_needs(
    client, manager, django_capture_on_commit_callbacks
):
    FeedbackFactory.create_batch(3, analysed_at=timezone.now())
    client.force_login(manager)

    page, callbacks = _discover_now(client, django_capture_on_commit_callbacks)

    assert callbacks == []  # nothing queued
    assert "needs at least 50 analysed feedback texts; there are 3." in page
    assert "Theme discovery queued" not in page


def test_discover_now_is_queued_once_and_refused_while_a_discovery_runs(
    client, manager, django_capture_on_commit_callbacks
):
    FeedbackFactory.create_batch(50, analysed_at=timezone.now())
    client.force_login(manager)
    page, callbacks = _discover_now(client, django_capture_on_commit_callbacks)
    assert len(callbacks) == 1
    assert "Theme discovery queued; the themes appear here once it has run." in page
    AnalysisRun.objects.create(kind=AnalysisRun.Kind.THEMES)  # the worker started it

    page, callbacks = _discover_now(client, django_capture_on_commit_callbacks)

    assert callbacks == []
    assert "Theme discovery is already running" in page


def test_the_same_keyword_rule_sent_twice_is_added_once(
    client, manager, delivery, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    url = reverse("insights:theme_rule_add", args=[delivery.pk])
    with django_capture_on_commit_callbacks():
        client.post(url, {"keywords": "parcel, courier*"})

        again = client.post(url, {"keywords": "Courier*,  PARCEL"})

    assert again.status_code == 400
    assert "This theme already has the rule “parcel, courier*”." in again.content.decode()
    assert KeywordRule.objects.filter(theme=delivery).count() == 1


def test_split_with_a_name_but_no_keywords_asks_for_them_and_changes_nothing(
    client, manager, delivery
):
    for text in ("Parcel lost", "Parcel late", "Courier rude", "Courier late"):
        FeedbackTheme.objects.create(
            feedback=FeedbackFactory(text=text), theme=delivery, score=0.5, source="model"
        )
    client.force_login(manager)

    response = client.post(
        reverse("insights:theme_split", args=[delivery.pk]), {"keywords": " ", "name": "Parcels"}
    )

    assert response.status_code == 400
    assert "Give the keywords of the feedback to move to “Parcels”." in response.content.decode()
    assert Theme.objects.get(pk=delivery.pk).status == "active" and Theme.objects.count() == 1


def test_a_rule_added_to_an_archived_theme_says_it_applies_once_restored(
    client, manager, delivery, django_capture_on_commit_callbacks
):
    FeedbackFactory(text="Parcel lost")
    delivery.status = "archived"
    delivery.save()
    client.force_login(manager)

    with django_capture_on_commit_callbacks():
        response = client.post(
            reverse("insights:theme_rule_add", args=[delivery.pk]),
            {"keywords": "parcel"},
            follow=True,
        )

    assert "it matches 1 feedback, themed once the theme is restored." in (
        response.content.decode()
    )


def test_theme_page_quotes_only_feedback_that_still_carries_the_theme(client, manager):
    from insights.theme_services import split_theme

    payments = Theme.objects.create(name="Payments", slug="payments")
    refund = FeedbackFactory(text="Still waiting for my refund")
    invoice = FeedbackFactory(text="The invoice total is wrong")
    card = FeedbackFactory(text="My card was charged twice")
    for row, score in ((refund, 0.9), (invoice, 0.8), (card, 0.7)):
        FeedbackTheme.objects.create(feedback=row, theme=payments, score=score, source="model")
    payments.quotes = [refund.pk, invoice.pk]
    payments.save()

    [refunds] = split_theme(theme=payments, keywords=["refund"], name="Refunds")

    client.force_login(manager)
    page = client.get(reverse("insights:theme_detail", args=[payments.pk]))
    assert [quote.pk for quote in page.context["quotes"]] == [invoice.pk, card.pk]
    page = client.get(reverse("insights:theme_detail", args=[refunds.pk]))
    assert [quote.pk for quote in page.context["quotes"]] == [refund.pk]
