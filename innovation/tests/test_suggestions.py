"""Weekly idea suggestions: what is proposed, what is held back, accepting and dismissing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse

from feedback.tests.factories import CustomerFactory, ProductFactory
from innovation import suggestions
from innovation.models import Idea, IdeaEvidence, IdeaSuggestion
from innovation.tasks import suggest_ideas_task
from insights import alerts
from insights.models import DailyThemeStat

from .roadmap_data import TODAY, day_stat, idea, theme, themed_feedback

pytestmark = pytest.mark.django_db

YESTERDAY = TODAY - dt.timedelta(days=1)


def _pain(theme_row, *, count=30, negative=20, day=YESTERDAY):
    return day_stat(theme_row, day, count=count, negative=negative)


@pytest.fixture
def checkout():
    return theme("Checkout errors")


def test_a_large_mostly_negative_theme_is_suggested_with_its_numbers(checkout):
    rich, poor = CustomerFactory(annual_value=Decimal("5000")), CustomerFactory()
    _pain(checkout, count=30, negative=20)
    worst = themed_feedback(checkout, customer=rich, sentiment_score=-0.95)[0]
    themed_feedback(checkout, n=2, customer=poor, sentiment_score=-0.5)
    themed_feedback(checkout, sentiment_label="positive", sentiment_score=0.8)
    calm = theme("Delivery")
    _pain(calm, count=40, negative=5)
    small = theme("Login")
    _pain(small, count=10, negative=10)

    report = suggest_ideas_task()

    assert len(report["created"]) == 1
    suggestion = IdeaSuggestion.objects.get()
    assert suggestion.theme == checkout and suggestion.kind == IdeaSuggestion.Kind.PAIN_POINT
    assert suggestion.status == IdeaSuggestion.Status.PENDING
    assert suggestion.title == "Address “Checkout errors”"
    numbers = suggestion.numbers
    assert numbers["volume"] == 30 and numbers["negative"] == 20
    assert numbers["negative_share"] == pytest.approx(0.6667, abs=1e-4)
    assert numbers["customers"] == 2 and numbers["value_at_stake"] == "5000.00"
    assert numbers["window_days"] == 28
    assert numbers["window_end"] == YESTERDAY.isoformat()
    # Negative feedback only, most negative first.
    assert suggestion.evidence_ids[0] == worst.pk and len(suggestion.evidence_ids) == 3


def test_the_window_ignores_old_feedback(checkout):
    _pain(checkout, day=TODAY - dt.timedelta(days=40))
    assert suggestions.suggest_ideas(today=TODAY).created == []


def test_an_emerging_negative_theme_is_suggested_even_when_small(checkout):
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    steady = theme("Delivery")
    for week, (rare, common) in enumerate(
        [(0, 20), (1, 22), (0, 19), (0, 21), (1, 20), (0, 18), (9, 21)]
    ):
        day = monday - dt.timedelta(weeks=6 - week)
        if rare:
            day_stat(checkout, day, count=rare, negative=rare)
        day_stat(steady, day, count=common, negative=0)
    assert alerts.evaluate_emerging_themes(today=TODAY) == ["raised"]

    # Judged the day after, so this week's rise is in the window.
    suggestions.suggest_ideas(today=TODAY + dt.timedelta(days=1))

    suggestion = IdeaSuggestion.objects.get()
    assert suggestion.theme == checkout and suggestion.kind == IdeaSuggestion.Kind.EMERGING
    assert suggestion.numbers["emerging"]["metric"] == "volume"
    assert suggestion.numbers["emerging"]["current_week"] == 9


def test_an_emerging_theme_that_is_not_negative_is_not_suggested(checkout):
    alerts.raise_alert(
        fingerprint=f"emerging:{checkout.pk}:volume", kind="emerging_theme", title="x",
        evidence={"metric": "volume", "current_week": 9}, theme_id=checkout.pk,
    )  # fmt: skip
    _pain(checkout, count=9, negative=1)
    assert suggestions.suggest_ideas().created == []


def test_a_theme_with_a_live_idea_is_not_suggested(checkout, manager):
    _pain(checkout)
    idea(manager, theme=checkout)
    assert suggestions.suggest_ideas().created == []


def test_a_second_run_refreshes_the_pending_suggestion_instead_of_adding_one(checkout):
    _pain(checkout, count=30, negative=20)
    first = suggestions.suggest_ideas()
    DailyThemeStat.objects.all().delete()
    _pain(checkout, count=35, negative=25)

    second = suggestions.suggest_ideas()

    assert second.created == [] and second.refreshed == first.created
    assert IdeaSuggestion.objects.get().numbers["volume"] == 35


def test_the_database_refuses_a_second_pending_suggestion_for_a_theme(checkout):
    IdeaSuggestion.objects.create(theme=checkout, kind="pain_point", title="a")
    with pytest.raises(IntegrityError):
        IdeaSuggestion.objects.create(theme=checkout, kind="pain_point", title="b")


def _dismissed_at(theme_row, volume, manager):
    _pain(theme_row, count=volume, negative=volume * 2 // 3)
    suggestions.suggest_ideas()
    suggestion = IdeaSuggestion.objects.get(status="pending")
    suggestions.dismiss_suggestion(suggestion=suggestion, by=manager)
    DailyThemeStat.objects.all().delete()
    return suggestion


@pytest.mark.parametrize(
    ("volume_now", "comes_back"),
    [
        (30, False),  # same size
        (40, False),  # ×1.33: below IDEA_SUGGESTION_REGROWTH
        (46, False),  # ×1.53, but the rise is not significant (p ≈ 0.08)
        (60, True),  # ×2, p ≈ 0.002
    ],
)
def test_a_dismissed_theme_comes_back_only_after_significant_regrowth(
    checkout, manager, volume_now, comes_back
):
    dismissed = _dismissed_at(checkout, 30, manager)
    assert dismissed.dismissed_volume == 30 and dismissed.decided_by == manager
    _pain(checkout, count=volume_now, negative=volume_now * 2 // 3)

    report = suggestions.suggest_ideas()

    assert bool(report.created) is comes_back
    assert (report.held_back == [checkout.pk]) is not comes_back
    if comes_back:
        back = IdeaSuggestion.objects.get(status="pending")
        assert back.numbers["regrowth"]["dismissed_volume"] == 30
        assert back.numbers["regrowth"]["regrown"] is True


def test_regrowth_factor_is_read_from_the_settings(checkout, manager, settings):
    _dismissed_at(checkout, 300, manager)
    _pain(checkout, count=400, negative=300)  # highly significant, but ×1.33
    assert suggestions.suggest_ideas().created == []
    settings.IDEA_SUGGESTION_REGROWTH = 1.3
    assert len(suggestions.suggest_ideas().created) == 1


def test_min_volume_is_read_from_the_settings(checkout, settings):
    _pain(checkout, count=12, negative=10)
    assert suggestions.suggest_ideas().created == []
    settings.IDEA_SUGGESTION_MIN_VOLUME = 10
    assert len(suggestions.suggest_ideas().created) == 1


# --- Accepting and dismissing -------------------------------------------------------------


@pytest.fixture
def pending(checkout):
    customer = CustomerFactory(annual_value=Decimal("800"))
    _pain(checkout)
    themed_feedback(checkout, n=3, customer=customer)
    suggestions.suggest_ideas()
    return IdeaSuggestion.objects.get(status="pending")


def test_accepting_creates_a_suggested_idea_with_the_evidence(pending, manager):
    product = ProductFactory(name="Shop", slug="shop")

    created = suggestions.accept_suggestion(suggestion=pending, by=manager, product=product)

    assert created.origin == Idea.Origin.SUGGESTED and created.theme == pending.theme
    assert created.title == "Address “Checkout errors”" and created.product == product
    assert "30 pieces of feedback about “Checkout errors”" in created.problem
    links = IdeaEvidence.objects.filter(idea=created)
    assert set(links.values_list("feedback_id", flat=True)) == set(pending.evidence_ids)
    assert set(links.values_list("source", flat=True)) == {IdeaEvidence.Source.SUGGESTION}
    pending.refresh_from_db()
    assert (
        pending.status == "accepted" and pending.idea == created and pending.decided_by == manager
    )
    # The theme has a live idea now: nothing new next week.
    assert suggestions.suggest_ideas().created == []


def test_a_decided_suggestion_cannot_be_decided_again(pending, manager):
    suggestions.dismiss_suggestion(suggestion=pending, by=manager)
    with pytest.raises(ValidationError, match="already dismissed"):
        suggestions.accept_suggestion(suggestion=pending, by=manager)
    with pytest.raises(ValidationError, match="already dismissed"):
        suggestions.dismiss_suggestion(suggestion=pending, by=manager)
    assert not Idea.objects.exists()


def test_evidence_deleted_since_the_suggestion_is_left_out(pending, manager):
    from feedback.models import Feedback

    Feedback.objects.filter(pk=pending.evidence_ids[0]).delete()
    created = suggestions.accept_suggestion(suggestion=pending, by=manager)
    assert created.evidence.count() == len(pending.evidence_ids) - 1


# --- The page, per role -------------------------------------------------------------------

LIST = reverse("innovation:suggestions")


def test_anonymous_visitors_are_sent_to_log_in(client, pending):
    for response in (
        client.get(LIST),
        client.post(reverse("innovation:suggestion_accept", args=[pending.pk])),
        client.post(reverse("innovation:suggestion_dismiss", args=[pending.pk])),
    ):
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("who", ["outsider", "staff_member"])
def test_only_managers_see_and_decide_suggestions(client, pending, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert (
        client.post(reverse("innovation:suggestion_accept", args=[pending.pk])).status_code == 403
    )
    assert (
        client.post(reverse("innovation:suggestion_dismiss", args=[pending.pk])).status_code == 403
    )
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_manager_sees_the_numbers_and_evidence_escaped(client, manager, checkout):
    checkout.name = "<b>Checkout</b>"
    checkout.save()
    _pain(checkout)
    themed_feedback(checkout, text="<script>alert(1)</script> broken", customer=CustomerFactory())
    suggestions.suggest_ideas()
    client.force_login(manager)

    response = client.get(LIST)

    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; broken" in body
    assert "<script>alert(1)" not in body and "<b>Checkout</b>" not in body
    assert "67%" in body and "Large pain point" in body


def test_manager_accepts_from_the_page_with_an_edited_title(client, manager, pending):
    client.force_login(manager)
    prefix = f"s{pending.pk}"
    response = client.post(
        reverse("innovation:suggestion_accept", args=[pending.pk]),
        {f"{prefix}-title": "Fix card declines", f"{prefix}-problem": "", f"{prefix}-product": ""},
    )
    created = Idea.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("innovation:roadmap") + f"#idea-{created.pk}"
    assert created.title == "Fix card declines" and created.origin == "suggested"


def test_bad_accept_input_is_a_message_not_an_error(client, manager, pending):
    client.force_login(manager)
    prefix = f"s{pending.pk}"
    response = client.post(
        reverse("innovation:suggestion_accept", args=[pending.pk]),
        {f"{prefix}-title": "x" * 300, f"{prefix}-product": "999999"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Check the title" in response.content.decode()
    assert not Idea.objects.exists()


def test_manager_dismisses_from_the_page_and_a_second_click_is_explained(client, manager, pending):
    client.force_login(manager)
    url = reverse("innovation:suggestion_dismiss", args=[pending.pk])
    assert client.post(url).status_code == 302
    response = client.post(url, follow=True)
    assert "already dismissed" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "dismissed"


def test_bad_status_filter_is_400(client, manager):
    client.force_login(manager)
    assert client.get(LIST, {"status": "nope"}).status_code == 400
    assert client.get(LIST, {"status": "dismissed"}).status_code == 200


def test_suggestion_page_queries_do_not_grow_with_rows(
    client, manager, django_assert_max_num_queries
):
    for n in range(12):
        row = theme(f"Theme {n}")
        _pain(row)
        themed_feedback(row, n=2, customer=CustomerFactory())
    suggestions.suggest_ideas()
    assert IdeaSuggestion.objects.count() == 12
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200
