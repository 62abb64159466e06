"""A feedback's themes on its page and in the API, and themes added or removed by hand."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from api.tests.conftest import key_client
from feedback.tests.factories import FeedbackFactory
from insights import theme_services
from insights.models import DailyThemeStat, FeedbackTheme, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def feedback():
    return FeedbackFactory(
        text="The courier left the parcel in the rain", analysed_at=timezone.now()
    )


@pytest.fixture
def delivery(feedback):
    theme = Theme.objects.create(name="Delivery <late>", slug="delivery", status="active")
    FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=0.62, source="model")
    return theme


@pytest.fixture
def packaging():
    return Theme.objects.create(name="Packaging", slug="packaging", status="active")


def _theme_volume(theme) -> int:
    return DailyThemeStat.objects.filter(theme=theme).aggregate(n=Sum("feedback_count"))["n"] or 0


# --- services ----------------------------------------------------------------------------


def test_a_theme_added_by_hand_is_a_manual_link_counted_in_the_rollup(feedback, packaging):
    theme_services.set_manual_theme(feedback=feedback, theme=packaging)

    link = FeedbackTheme.objects.get(feedback=feedback, theme=packaging)
    assert (link.source, link.score) == ("manual", 1.0)
    assert _theme_volume(packaging) == 1

    theme_services.remove_manual_theme(feedback=feedback, theme=packaging)

    assert not FeedbackTheme.objects.filter(feedback=feedback, theme=packaging).exists()
    assert _theme_volume(packaging) == 0


@pytest.mark.parametrize(
    ("status", "message"), [("archived", "restore it"), ("merged", "merged into “Packaging”")]
)
def test_themes_that_take_no_feedback_cannot_be_added(feedback, packaging, status, message):
    gone = Theme.objects.create(
        name="Boxes", slug="boxes", status=status,
        merged_into=packaging if status == "merged" else None,
    )  # fmt: skip
    with pytest.raises(ValidationError, match=message):
        theme_services.set_manual_theme(feedback=feedback, theme=gone)
    assert not FeedbackTheme.objects.filter(theme=gone).exists()


@pytest.mark.parametrize(("source", "made_by"), [("model", "theme model"), ("rule", "keyword")])
def test_links_the_model_or_a_rule_made_are_not_removed_by_hand(
    feedback, delivery, source, made_by
):
    FeedbackTheme.objects.filter(feedback=feedback, theme=delivery).update(source=source)
    with pytest.raises(ValidationError, match=made_by):
        theme_services.remove_manual_theme(feedback=feedback, theme=delivery)
    assert FeedbackTheme.objects.filter(feedback=feedback, theme=delivery).exists()


def test_adding_a_theme_the_model_gave_makes_it_manual(feedback, delivery):
    theme_services.set_manual_theme(feedback=feedback, theme=delivery)
    link = FeedbackTheme.objects.get(feedback=feedback, theme=delivery)
    assert link.source == "manual"
    theme_services.remove_manual_theme(feedback=feedback, theme=delivery)
    assert not FeedbackTheme.objects.filter(feedback=feedback).exists()


# --- the feedback page ---------------------------------------------------------------------


def test_staff_see_the_themes_by_name_without_curating(client, staff_member, feedback, delivery):
    client.force_login(staff_member)
    page = client.get(reverse("feedback:detail", args=[feedback.pk])).content.decode()

    assert 'id="themes"' in page
    assert "Delivery &lt;late&gt;" in page and "Delivery <late>" not in page
    assert "theme model, match 0.62" in page
    assert reverse("insights:theme_detail", args=[delivery.pk]) not in page  # no insights
    assert "Add a theme by hand" not in page

    response = client.post(
        reverse("insights:feedback_theme_add", args=[feedback.pk]), {"theme": delivery.pk}
    )
    assert response.status_code == 403
    assert FeedbackTheme.objects.get(feedback=feedback).source == "model"


def test_manager_adds_and_removes_a_theme_by_hand(client, manager, feedback, delivery, packaging):
    client.force_login(manager)
    page = client.get(reverse("feedback:detail", args=[feedback.pk])).content.decode()
    assert reverse("insights:theme_detail", args=[delivery.pk]) in page
    assert f'<option value="{packaging.pk}">Packaging</option>' in page
    assert f'<option value="{delivery.pk}">' not in page  # carried already

    response = client.post(
        reverse("insights:feedback_theme_add", args=[feedback.pk]), {"theme": packaging.pk}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/inbox/{feedback.pk}/#themes")
    page = client.get(response["Location"]).content.decode()
    assert "Theme “Packaging” added by hand." in page
    assert "added by hand" in page and "Remove theme Packaging" in page

    response = client.post(
        reverse("insights:feedback_theme_remove", args=[feedback.pk, packaging.pk]), follow=True
    )
    assert "Theme “Packaging” removed." in response.content.decode()
    assert list(FeedbackTheme.objects.values_list("theme__name", flat=True)) == ["Delivery <late>"]


@pytest.mark.parametrize("value", ["", "abc", "999999"])
def test_adding_no_theme_or_an_unknown_one_says_so(client, manager, feedback, value):
    client.force_login(manager)
    response = client.post(
        reverse("insights:feedback_theme_add", args=[feedback.pk]), {"theme": value}, follow=True
    )
    assert response.status_code == 200
    assert "Choose a theme to add." in response.content.decode()
    assert not FeedbackTheme.objects.exists()


def test_removing_a_model_theme_by_hand_is_refused_with_a_reason(
    client, manager, feedback, delivery
):
    client.force_login(manager)
    response = client.post(
        reverse("insights:feedback_theme_remove", args=[feedback.pk, delivery.pk]), follow=True
    )
    assert "was given by the theme model, not by hand" in response.content.decode()
    assert FeedbackTheme.objects.filter(feedback=feedback, theme=delivery).exists()


def test_unanalysed_feedback_says_themes_come_with_the_analysis(client, manager):
    pending = FeedbackFactory(text="Still waiting", analysed_at=None)
    client.force_login(manager)
    page = client.get(reverse("feedback:detail", args=[pending.pk])).content.decode()
    assert "Themes are given when the analysis has run." in page


# --- the API -------------------------------------------------------------------------------


def test_the_api_lists_a_feedbacks_live_themes_strongest_first(feedback, delivery, packaging):
    theme_services.set_manual_theme(feedback=feedback, theme=packaging)
    archived = Theme.objects.create(name="Old", slug="old", status="archived")
    FeedbackTheme.objects.create(feedback=feedback, theme=archived, score=0.9, source="model")

    body = key_client(["feedback:read"]).get(f"/api/v1/feedback/{feedback.pk}/").json()

    assert body["themes"] == [
        {"id": packaging.pk, "name": "Packaging", "score": 1.0, "source": "manual"},
        {"id": delivery.pk, "name": "Delivery <late>", "score": 0.62, "source": "model"},
    ]


def test_the_feedback_list_reads_themes_in_a_constant_number_of_queries(
    delivery, django_assert_max_num_queries
):
    client = key_client(["feedback:read"])
    client.get("/api/v1/feedback/")  # the key's first use is recorded once
    for index in range(5):
        other = FeedbackFactory(text=f"Parcel {index} was late", analysed_at=timezone.now())
        FeedbackTheme.objects.create(feedback=other, theme=delivery, score=0.5, source="model")
    with django_assert_max_num_queries(8):
        rows = client.get("/api/v1/feedback/").json()["results"]
    assert len(rows) == 6
    assert all(row["themes"][0]["name"] == "Delivery <late>" for row in rows)


def test_a_feedback_just_recorded_answers_with_no_themes_yet():
    response = key_client(["feedback:write"]).post(
        "/api/v1/feedback/", {"text": "The app crashes at checkout"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["themes"] == []
