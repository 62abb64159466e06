"""Alert rules narrowed to a theme and/or a customer segment: the figures they compute (the
dashboard's), which theme or segment makes them fire, de-duplication per filter, the form,
and what happens when the theme or segment goes out of use."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customization.models import Segment
from feedback.tests.factories import CustomerFactory, FeedbackFactory
from insights import alerts, dashboard_selectors, services
from insights.analysis import stats
from insights.dashboard_scope import Scope
from insights.models import Alert, AlertRule, FeedbackTheme, Theme
from insights.theme_services import merge_themes, refresh_daily_theme_stats

from .rollup_data import answer_survey, make_survey

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(dt.UTC).date()


def days_ago(n: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=n), dt.time(12), tzinfo=dt.UTC)


def feedback(n: int, *, days: int, label: str = "neutral", theme=None, customer=None):
    score = {"negative": -0.6, "neutral": 0.0, "positive": 0.6}[label]
    for _ in range(n):
        item = FeedbackFactory(
            received_at=days_ago(days),
            sentiment_label=label,
            sentiment_score=score,
            analysed_at=days_ago(days),
            customer=customer,
        )
        if theme is not None:
            FeedbackTheme.objects.create(feedback=item, theme=theme, score=1.0, source="manual")


def recount():
    services.refresh_daily_stats()
    refresh_daily_theme_stats()


def rule(name: str, **fields) -> AlertRule:
    defaults = {"window_days": 7, "min_count": 3}
    return AlertRule.objects.create(name=name, **{**defaults, **fields})


def dashboard_value(metric: str, scope: Scope) -> float:
    """The figure the dashboard shows for ``metric`` over ``scope`` (its own selector)."""
    sums = dashboard_selectors.scoped_sums(scope)[None]
    return round(stats.metric_estimate(metric, sums).value, 4)


@pytest.fixture
def themes():
    return (
        Theme.objects.create(name="Delivery", slug="delivery"),
        Theme.objects.create(name="Billing", slug="billing"),
    )


@pytest.fixture
def segments():
    retail, wholesale = Segment.objects.create(name="Retail"), Segment.objects.create(name="Trade")
    retail_customers = [CustomerFactory() for _ in range(3)]
    trade_customers = [CustomerFactory() for _ in range(3)]
    retail.customers.add(*retail_customers)
    wholesale.customers.add(*trade_customers)
    return (retail, retail_customers), (wholesale, trade_customers)


# --- Evaluation -------------------------------------------------------------------------------


def test_theme_rule_fires_on_its_themes_rise_and_not_on_another_themes(themes):
    delivery, billing = themes
    delivery_rule = rule(
        "Delivery surge", metric="volume", condition="significant_change", theme=delivery
    )
    billing_rule = rule(
        "Billing surge", metric="volume", condition="significant_change", theme=billing
    )
    # Volume windows end yesterday: this week is days 1–7, the one before days 8–14.
    feedback(3, days=10, theme=billing)
    feedback(25, days=2, theme=billing)
    feedback(10, days=10, theme=delivery)
    feedback(10, days=2, theme=delivery)
    recount()

    assert alerts.evaluate_rule(delivery_rule) == "quiet"
    assert alerts.evaluate_rule(billing_rule) == "raised"
    alert = Alert.objects.get()
    assert alert.rule == billing_rule and alert.theme == billing
    assert alert.fingerprint == f"rule:{billing_rule.pk}:theme:{billing.pk}"
    assert alert.evidence["theme"] == "Billing" and "theme “Billing”" in alert.title
    assert (alert.evidence["previous_value"], alert.evidence["value"]) == (3, 25)
    assert alert.evidence["p_value"] < 0.05
    window = Scope(start=TODAY - dt.timedelta(days=7), end=TODAY, theme=billing)
    assert alert.evidence["value"] == dashboard_value("volume", window)
    assert alert.evidence["previous_value"] == dashboard_value("volume", window.previous())


def test_theme_rule_reads_the_survey_scores_of_responses_about_the_theme(themes):
    delivery, billing = themes
    survey = make_survey()
    for theme, nps in ((delivery, 2), (billing, 10)):
        for _ in range(5):
            comment = FeedbackFactory(channel="survey", received_at=days_ago(1))
            FeedbackTheme.objects.create(feedback=comment, theme=theme, score=1.0, source="manual")
            answer_survey(survey, submitted_at=days_ago(1), nps=nps, comment="x", feedback=comment)
    recount()
    delivery_rule = rule(
        "Delivery NPS", metric="nps", condition="below", threshold=0, theme=delivery
    )
    billing_rule = rule("Billing NPS", metric="nps", condition="below", threshold=0, theme=billing)

    assert alerts.evaluate_rule(billing_rule) == "quiet"
    assert alerts.evaluate_rule(delivery_rule) == "raised"
    evidence = Alert.objects.get().evidence
    assert (evidence["value"], evidence["n"]) == (-100, 5)
    week = Scope(start=TODAY - dt.timedelta(days=6), end=TODAY + dt.timedelta(days=1))
    assert evidence["value"] == dashboard_value("nps", week.narrowed(theme=delivery))
    # Unfiltered, the two themes' responses cancel out: the filter is what fires.
    assert dashboard_value("nps", week) == 0


def test_segment_rule_fires_on_its_segments_change_and_not_on_another_segments(segments):
    (retail, retail_customers), (trade, trade_customers) = segments
    retail_rule = rule(
        "Retail unhappy", metric="negative_share", condition="above", threshold=0.5, segment=retail
    )
    trade_rule = rule(
        "Trade unhappy", metric="negative_share", condition="above", threshold=0.5, segment=trade
    )
    for customer in retail_customers:
        feedback(1, days=3, label="positive", customer=customer)
    for customer in trade_customers:
        feedback(2, days=3, label="positive", customer=customer)
    recount()
    assert alerts.evaluate_rule(retail_rule) == "quiet"
    assert alerts.evaluate_rule(trade_rule) == "quiet"

    for customer in retail_customers:
        feedback(2, days=1, label="negative", customer=customer)
    feedback(20, days=1, label="positive")  # anonymous: no segment, no effect
    recount()
    assert alerts.evaluate_rule(retail_rule) == "raised"
    assert alerts.evaluate_rule(trade_rule) == "quiet"
    alert = Alert.objects.get()
    assert alert.fingerprint == f"rule:{retail_rule.pk}:segment:{retail.pk}"
    assert alert.evidence["segment"] == "Retail" and "segment “Retail”" in alert.title
    assert (alert.evidence["value"], alert.evidence["n"]) == (round(6 / 9, 4), 9)
    week = Scope(start=TODAY - dt.timedelta(days=6), end=TODAY + dt.timedelta(days=1))
    assert alert.evidence["value"] == dashboard_value(
        "negative_share", week.narrowed(segment=retail)
    )


def test_theme_and_segment_rule_reads_the_theme_segment_rollup(themes, segments):
    delivery, billing = themes
    (retail, retail_customers), (trade, trade_customers) = segments
    for customer in retail_customers:
        feedback(2, days=2, label="negative", theme=delivery, customer=customer)
        feedback(2, days=2, label="positive", theme=billing, customer=customer)
    for customer in trade_customers:
        feedback(2, days=2, label="positive", theme=delivery, customer=customer)
    recount()
    both = rule(
        "Retail delivery",
        metric="average_sentiment",
        condition="below",
        threshold=-0.5,
        theme=delivery,
        segment=retail,
    )
    delivery_only = rule(
        "Delivery", metric="average_sentiment", condition="below", threshold=-0.5, theme=delivery
    )

    assert alerts.evaluate_rule(delivery_only) == "quiet"  # trade's praise offsets it
    assert alerts.evaluate_rule(both) == "raised"
    alert = Alert.objects.get()
    assert alert.fingerprint == f"rule:{both.pk}:theme:{delivery.pk}:segment:{retail.pk}"
    assert alert.evidence["n"] == 6
    week = Scope(start=TODAY - dt.timedelta(days=6), end=TODAY + dt.timedelta(days=1))
    scope = week.narrowed(theme=delivery, segment=retail)
    assert alert.evidence["value"] == dashboard_value("average_sentiment", scope) == -0.6


# --- De-duplication per filter --------------------------------------------------------------


def test_rules_differing_only_in_theme_keep_one_alert_each_and_a_new_theme_is_a_new_alert(
    themes,
):
    delivery, billing = themes
    feedback(5, days=1, label="negative", theme=delivery)
    feedback(5, days=1, label="negative", theme=billing)
    recount()
    first, second = (
        rule(
            f"Negative {theme}",
            metric="negative_share",
            condition="above",
            threshold=0.5,
            theme=theme,
        )
        for theme in (delivery, billing)
    )
    assert [alerts.evaluate_rule(r) for r in (first, second)] == ["raised", "raised"]
    assert [alerts.evaluate_rule(r) for r in (first, second)] == ["updated", "updated"]
    assert sorted(Alert.objects.values_list("fingerprint", "times_seen")) == sorted(
        [(f"rule:{first.pk}:theme:{delivery.pk}", 2), (f"rule:{second.pk}:theme:{billing.pk}", 2)]
    )

    # The theme changed by a door that does not resolve alerts (the admin): the alert of the
    # old theme is not updated with the new theme's figures, it is resolved.
    first.theme = billing
    first.save()
    assert alerts.evaluate_rule(first) == "raised"
    old = Alert.objects.get(fingerprint=f"rule:{first.pk}:theme:{delivery.pk}")
    assert old.status == "resolved"
    new = Alert.objects.get(fingerprint=f"rule:{first.pk}:theme:{billing.pk}")
    assert new.status == "open" and new.theme == billing and new.times_seen == 1
    assert Alert.objects.unresolved().count() == 2


def test_saving_a_rule_with_another_segment_resolves_its_alert(manager, segments):
    (retail, retail_customers), (trade, _) = segments
    for customer in retail_customers:
        feedback(2, days=1, label="negative", customer=customer)
    recount()
    watched = rule(
        "Retail unhappy", metric="negative_share", condition="above", threshold=0.5, segment=retail
    )
    assert alerts.evaluate_rule(watched) == "raised"
    alerts.save_alert_rule(rule=watched, by=manager, data={"segment": trade})
    alert = Alert.objects.get()
    assert alert.status == "resolved" and alert.resolution_note == "The rule changed."
    assert alerts.evaluate_rule(watched) == "quiet"


# --- A theme or segment going out of use --------------------------------------------------------


def test_rule_on_a_merged_theme_is_switched_off_its_alert_resolved_and_recipients_told(
    themes, client, manager, django_capture_on_commit_callbacks
):
    delivery, billing = themes
    feedback(5, days=1, label="negative", theme=delivery)
    recount()
    watched = rule(
        "Delivery unhappy",
        metric="negative_share",
        condition="above",
        threshold=0.5,
        theme=delivery,
        notify_emails=["cx@example.com"],
    )
    assert alerts.evaluate_rule(watched) == "raised"

    merge_themes(source=delivery, target=billing)
    with django_capture_on_commit_callbacks(execute=True):
        report = alerts.evaluate_alerts()
    assert report.switched_off == 1 and report.errors == [] and report.checked == 1
    watched.refresh_from_db()
    assert not watched.active
    assert watched.inactive_reason == "The theme “Delivery” was merged into “Billing”."
    alert = Alert.objects.get(rule=watched)
    assert alert.status == "resolved" and alert.resolution_note.startswith("Rule switched off")
    [notice] = [m for m in mail.outbox if "switched off" in m.subject]
    assert notice.to == ["cx@example.com"] and "merged into “Billing”" in notice.body
    # Inactive now: the next evaluation leaves it alone.
    assert alerts.evaluate_alerts().switched_off == 0

    client.force_login(manager)
    page = client.get(reverse("insights:alert_rules")).content.decode()
    assert "switched off: The theme “Delivery” was merged into “Billing”." in page
    # Editing still shows the merged theme (a save must not widen the rule to all themes)…
    edit = reverse("insights:alert_rule_edit", args=[watched.pk])
    assert "Delivery (merged)" in client.get(edit).content.decode()
    data = {
        "name": "Delivery unhappy",
        "metric": "negative_share",
        "theme": delivery.pk,
        "condition": "above",
        "threshold": "0.5",
        "window_days": "7",
        "min_count": "3",
    }
    # …and switching it on again needs a theme in use.
    response = client.post(edit, {**data, "active": "on"})
    assert response.status_code == 400
    assert "merged into “Billing”" in " ".join(response.context["form"].errors["theme"])
    assert client.post(edit, data).status_code == 302
    watched.refresh_from_db()
    assert (watched.theme, watched.active, watched.inactive_reason) == (delivery, False, "")
    assert client.post(edit, {**data, "theme": billing.pk, "active": "on"}).status_code == 302
    watched.refresh_from_db()
    assert (watched.theme, watched.active) == (billing, True)


def test_rule_on_a_segment_no_longer_active_is_switched_off(segments):
    (retail, _), _ = segments
    watched = rule("Retail volume", metric="volume", condition="below", threshold=5, segment=retail)
    Segment.objects.filter(pk=retail.pk).update(status=Segment.Status.DISCARDED)
    watched.refresh_from_db()
    assert alerts.evaluate_rule(watched) == "switched_off"
    watched.refresh_from_db()
    assert not watched.active and "“Retail” is discarded" in watched.inactive_reason
    assert not Alert.objects.exists()


def test_a_theme_or_segment_a_rule_watches_cannot_be_deleted(themes, segments):
    delivery, _ = themes
    (retail, _), _ = segments
    rule("Watch", metric="volume", condition="above", threshold=5, theme=delivery, segment=retail)
    with pytest.raises(ProtectedError):
        delivery.delete()
    with pytest.raises(ProtectedError):
        retail.delete()


# --- The form and the service ---------------------------------------------------------------

RULE_DATA = {
    "name": "Filtered",
    "metric": "negative_share",
    "condition": "above",
    "threshold": "0.4",
    "window_days": "7",
    "min_count": "20",
    "active": "on",
}


def test_manager_creates_a_theme_and_segment_rule_and_the_list_shows_its_filters(
    client, manager, themes, segments
):
    delivery, _ = themes
    (retail, _), _ = segments
    client.force_login(manager)
    data = {**RULE_DATA, "theme": delivery.pk, "segment": retail.pk}
    assert client.post(reverse("insights:alert_rule_new"), data).status_code == 302
    saved = AlertRule.objects.get()
    assert (saved.theme, saved.segment, saved.active) == (delivery, retail, True)
    page = client.get(reverse("insights:alert_rules")).content.decode()
    assert "theme “Delivery”" in page and "segment “Retail”" in page


def test_the_form_offers_active_themes_and_segments_only(client, manager, themes, segments):
    delivery, billing = themes
    billing.status = Theme.Status.ARCHIVED
    billing.save()
    Theme.objects.create(name="Queued", slug="queued", status=Theme.Status.PROPOSED)
    Segment.objects.create(name="Lookalikes", status=Segment.Status.SUGGESTED)
    client.force_login(manager)
    form = client.get(reverse("insights:alert_rule_new")).context["form"]
    assert list(form.fields["theme"].queryset) == [delivery]
    assert [s.name for s in form.fields["segment"].queryset] == ["Retail", "Trade"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("theme", "archived"),
        ("theme", "merged"),
        ("theme", "proposed"),
        ("theme", "99999"),
        ("theme", "not-a-number"),
        ("segment", "suggested"),
        ("segment", "discarded"),
        ("segment", "99999"),
    ],
)
def test_a_theme_or_segment_not_in_use_is_a_field_error_not_a_500(
    client, manager, themes, field, value
):
    delivery, _ = themes
    if field == "theme" and value in ("archived", "merged", "proposed"):
        value = Theme.objects.create(name=f"T {value}", slug=f"t-{value}", status=value).pk
    elif field == "segment" and value in ("suggested", "discarded"):
        value = Segment.objects.create(name=f"S {value}", status=value).pk
    client.force_login(manager)
    response = client.post(reverse("insights:alert_rule_new"), {**RULE_DATA, field: value})
    assert response.status_code == 400
    assert "valid choice" in " ".join(response.context["form"].errors[field])
    assert not AlertRule.objects.exists()


def test_service_refuses_an_active_rule_on_an_archived_theme(manager, themes):
    delivery, _ = themes
    delivery.status = Theme.Status.ARCHIVED
    delivery.save()
    base = {"name": "x", "metric": "volume", "condition": "above", "threshold": 5}
    with pytest.raises(ValidationError) as refused:
        alerts.save_alert_rule(by=manager, data={**base, "theme": delivery})
    assert "“Delivery” is archived" in " ".join(refused.value.message_dict["theme"])
    assert not AlertRule.objects.exists()
    kept = alerts.save_alert_rule(by=manager, data={**base, "theme": delivery, "active": False})
    assert kept.theme == delivery and not kept.active


def test_rule_list_queries_do_not_grow_with_filtered_rules(client, manager, themes, segments):
    delivery, billing = themes
    (retail, _), (trade, _) = segments
    client.force_login(manager)
    url = reverse("insights:alert_rules")
    rule("One", metric="volume", condition="above", threshold=5, theme=delivery, segment=retail)
    client.get(url)  # warm the per-process caches (content types, permissions)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(4):
        rule(
            f"More {n}",
            metric="volume",
            condition="above",
            threshold=5,
            theme=billing,
            segment=trade,
        )
    with CaptureQueriesContext(connection) as five:
        page = client.get(url).content.decode()
    assert len(five) == len(one)
    assert page.count("theme “Billing”") == 4


def _change_in_the_admin(client, rf, watched: AlertRule, **changes):
    """Post the admin's change form of ``watched`` as shown, with ``changes``."""
    from django.contrib.admin.sites import site

    from feedback.tests.factories import UserFactory

    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    request = rf.get("/")
    request.user = superuser
    form = site._registry[AlertRule].get_form(request, watched)(instance=watched)
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, list):
            data[name] = [str(v) for v in value]
        else:
            data[name] = "" if value is None else value
    data.update(changes)
    return client.post(reverse("admin:insights_alertrule_change", args=[watched.pk]), data)


def _watched_delivery_rule(delivery) -> AlertRule:
    feedback(5, days=1, label="negative", theme=delivery)
    recount()
    watched = rule(
        "Negative delivery",
        metric="negative_share",
        condition="above",
        threshold=0.5,
        theme=delivery,
    )
    assert alerts.evaluate_rule(watched) == "raised"
    return watched


def test_a_rule_changed_in_the_admin_is_a_changed_rule(themes, client, rf):
    delivery, billing = themes
    watched = _watched_delivery_rule(delivery)
    AlertRule.objects.filter(pk=watched.pk).update(inactive_reason="Switched off earlier.")
    watched.refresh_from_db()

    response = _change_in_the_admin(client, rf, watched, theme=billing.pk)

    assert response.status_code == 302, response.content[:2000]
    watched.refresh_from_db()
    assert watched.theme == billing and watched.inactive_reason == ""
    old = Alert.objects.get()
    assert old.status == "resolved" and old.resolution_note == "The rule changed."


def test_renaming_a_rule_in_the_admin_keeps_its_ongoing_alert(themes, client, rf):
    delivery, _ = themes
    watched = _watched_delivery_rule(delivery)

    response = _change_in_the_admin(client, rf, watched, name="Delivery complaints")

    assert response.status_code == 302, response.content[:2000]
    alert = Alert.objects.get()
    assert alert.status == "open"
    # The condition goes on: the next evaluation updates that alert, mails nobody again.
    watched.refresh_from_db()
    assert alerts.evaluate_rule(watched) == "updated"
