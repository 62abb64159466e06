"""Alerts: rules, built-ins, de-duplication, detractor follow-up, notifications."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory, ProductFactory, UserFactory
from insights import alerts, services
from insights.models import Alert, AlertRule, DailyThemeStat, ProductOwner, Theme

from .rollup_data import answer_survey, make_survey

pytestmark = pytest.mark.django_db

TODAY = timezone.now().astimezone(dt.UTC).date()


def days_ago(n: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=n), dt.time(hour), tzinfo=dt.UTC)


def scored(n: int, *, label: str, score: float, when: dt.datetime, **extra):
    for _ in range(n):
        FeedbackFactory(
            received_at=when, sentiment_label=label, sentiment_score=score, analysed_at=when,
            **extra,
        )  # fmt: skip


@pytest.fixture
def negative_share_rule(manager):
    rule = AlertRule.objects.create(
        name="Too negative", metric="negative_share", condition="above", threshold=0.3,
        window_days=7, min_count=10, notify_emails=["cx@example.com"], created_by=manager,
    )  # fmt: skip
    rule.notify_users.add(manager)
    return rule


def test_threshold_rule_raises_one_alert_and_emails_once(
    negative_share_rule, django_capture_on_commit_callbacks
):
    scored(6, label="negative", score=-0.6, when=days_ago(1))
    scored(6, label="positive", score=0.6, when=days_ago(2))
    services.refresh_daily_stats()

    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.evaluate_rule(negative_share_rule) == "raised"
        assert alerts.evaluate_rule(negative_share_rule) == "updated"

    alert = Alert.objects.get()
    assert alert.kind == "rule" and alert.status == "open" and alert.times_seen == 2
    assert alert.evidence["value"] == 0.5 and alert.evidence["n"] == 12
    assert alert.evidence["threshold"] == 0.3
    assert alert.evidence["ci_low"] < 0.5 < alert.evidence["ci_high"]
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["cx@example.com", "maria_manager@example.com"]
    assert "Too negative" in mail.outbox[0].subject
    # The evidence in the words of the alerts page.
    body = mail.outbox[0].body
    assert "\nMetric: Negative share (0–1)\n" in body and "\nSample size: 12\n" in body
    assert "\nThreshold: 0.3\n" in body and "\nInterval from: " in body
    assert "ci_low" not in body and "\nn: " not in body


def test_condition_that_clears_resolves_its_alert_and_a_recurrence_is_a_new_alert(
    negative_share_rule,
):
    scored(6, label="negative", score=-0.6, when=days_ago(1))
    scored(6, label="positive", score=0.6, when=days_ago(2))
    services.refresh_daily_stats()
    alerts.evaluate_rule(negative_share_rule)

    scored(20, label="positive", score=0.6, when=days_ago(1))
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(negative_share_rule) == "cleared"
    first = Alert.objects.get()
    assert first.status == "resolved" and first.resolved_by is None
    assert first.resolution_note == "Condition cleared."

    scored(40, label="negative", score=-0.6, when=days_ago(0))
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(negative_share_rule) == "raised"
    assert Alert.objects.count() == 2


def test_rule_stays_silent_below_its_minimum_sample(negative_share_rule):
    scored(3, label="negative", score=-0.6, when=days_ago(1))
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(negative_share_rule) == "quiet"
    assert not Alert.objects.exists()


def test_rule_filters_by_product():
    app, web = ProductFactory(name="App", slug="app"), ProductFactory(name="Web", slug="web")
    rule = AlertRule.objects.create(
        name="App volume", metric="volume", condition="above", threshold=5, window_days=3,
        product=app,
    )  # fmt: skip
    scored(10, label="neutral", score=0.0, when=days_ago(1), product=web)
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(rule) == "quiet"
    scored(6, label="neutral", score=0.0, when=days_ago(1), product=app)
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(rule) == "raised"
    assert Alert.objects.get().product == app


def _nps_jump_rule() -> AlertRule:
    """A significant-change rule on NPS, and 40 detractors ten days ago against 40
    promoters two days ago: a change it must call significant."""
    rule = AlertRule.objects.create(
        name="NPS moves", metric="nps", condition="significant_change", window_days=7, min_count=30
    )
    survey = make_survey()
    for _ in range(40):
        answer_survey(survey, submitted_at=days_ago(10), nps=3)
        answer_survey(survey, submitted_at=days_ago(2), nps=10)
    services.refresh_daily_stats()
    return rule


def test_significant_change_rule_on_nps_reports_the_test():
    rule = _nps_jump_rule()

    assert alerts.evaluate_rule(rule) == "raised"
    evidence = Alert.objects.get().evidence
    assert evidence["previous_value"] == -100 and evidence["value"] == 100
    assert evidence["test"] == "nps-z" and evidence["p_value"] < 0.05
    assert "rose from -100" in Alert.objects.get().title


def test_no_significant_change_on_a_small_shift():
    rule = AlertRule.objects.create(
        name="NPS moves", metric="nps", condition="significant_change", window_days=7, min_count=5
    )
    survey = make_survey()
    for score in (10, 9, 7, 3, 10, 8):
        answer_survey(survey, submitted_at=days_ago(10), nps=score)
    for score in (10, 9, 8, 3, 10, 9):
        answer_survey(survey, submitted_at=days_ago(2), nps=score)
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(rule) == "quiet"


def test_an_ongoing_alert_whose_title_is_too_long_is_shortened_also_when_updated():
    # A rule, its theme and its segment may each be named with up to 120 characters.
    name = ("Checkout complaints from key accounts " * 4)[:120]
    theme = ("Payments and refunds " * 6)[:120]
    segment = ("Enterprise customers in Europe " * 4)[:120]
    title = f"{name} (theme “{theme}”, segment “{segment}”): Negative share is 51%, above 30%"
    assert len(title) > 300
    alert, _ = alerts.raise_alert(fingerprint="rule:8", kind="rule", title=title, evidence={})

    same, created = alerts.raise_alert(
        fingerprint="rule:8", kind="rule", title=title + " now 51%", evidence={"n": 2}
    )

    same.refresh_from_db()
    assert (created, same.pk, same.times_seen) == (False, alert.pk, 2)
    assert len(same.title) == 300 and same.title.endswith("…")


def test_database_refuses_a_second_unresolved_alert_for_the_same_condition():
    now = timezone.now()
    Alert.objects.create(kind="rule", fingerprint="rule:1", title="x", last_seen_at=now)
    with pytest.raises(IntegrityError):
        Alert.objects.create(kind="rule", fingerprint="rule:1", title="y", last_seen_at=now)


def test_resolved_alert_does_not_block_a_new_one():
    now = timezone.now()
    Alert.objects.create(
        kind="rule", fingerprint="rule:1", title="x", last_seen_at=now, status="resolved"
    )
    _, created = alerts.raise_alert(fingerprint="rule:1", kind="rule", title="y", evidence={})
    assert created


def test_detractor_comment_is_assigned_to_the_product_owner_and_alerts_once(
    staff_member, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://cx.example.com"
    app = ProductFactory(name="App", slug="app")
    alerts.set_product_owner(product=app, owner=staff_member)
    unhappy = FeedbackFactory(
        product=app, text="Crashes every time I pay", rating=2, rating_min=0, rating_max=10
    )
    one_star = FeedbackFactory(
        product=app, channel="review", text="Awful", rating=1, rating_min=1, rating_max=5
    )
    FeedbackFactory(product=app, text="Fine", rating=8, rating_min=0, rating_max=10)
    FeedbackFactory(product=app, text="Good", rating=4, rating_min=1, rating_max=5)

    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.create_detractor_follow_ups() == 2
        assert alerts.create_detractor_follow_ups() == 0

    for feedback in (unhappy, one_star):
        feedback.refresh_from_db()
        assert feedback.assignee == staff_member and feedback.status == Feedback.Status.TRIAGED
    follow_ups = Alert.objects.filter(kind="detractor_comment")
    assert {a.feedback_id for a in follow_ups} == {unhappy.pk, one_star.pk}
    assert follow_ups.get(feedback=unhappy).evidence["assigned_to"] == "sam_staff"
    assert {m.to[0] for m in mail.outbox} == {"sam_staff@example.com"}
    # The owner opens the feedback from the mail.
    link = f"https://cx.example.com/inbox/{unhappy.pk}/"
    assert [m for m in mail.outbox if f"\nFeedback: {link}\n" in m.body]


@pytest.mark.parametrize("how", ["deactivated", "role removed"])
def test_an_owner_who_left_is_neither_assigned_nor_emailed_the_detractors_comment(
    staff_member, django_capture_on_commit_callbacks, settings, how
):
    settings.INSIGHTS_ALERT_EMAILS = ["cx-lead@example.com"]
    app = ProductFactory(name="App", slug="app")
    alerts.set_product_owner(product=app, owner=staff_member)
    if how == "deactivated":
        staff_member.is_active = False
        staff_member.save()
    else:
        staff_member.groups.clear()
    unhappy = FeedbackFactory(
        product=app, text="Crashes every time I pay", rating=2, rating_min=0, rating_max=10
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.create_detractor_follow_ups() == 1

    unhappy.refresh_from_db()
    assert unhappy.assignee is None
    assert Alert.objects.get().evidence["assigned_to"] == ""
    assert [m.to for m in mail.outbox] == [["cx-lead@example.com"]]


def test_a_detractor_comment_written_on_several_lines_is_still_emailed(
    staff_member, django_capture_on_commit_callbacks
):
    app = ProductFactory(name="App", slug="app")
    alerts.set_product_owner(product=app, owner=staff_member)
    FeedbackFactory(
        product=app, text="Crashes at checkout.\r\nEvery single time!", rating=1,
        rating_min=1, rating_max=5,
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.create_detractor_follow_ups() == 1

    assert [m.to for m in mail.outbox] == [["sam_staff@example.com"]]
    assert mail.outbox[0].subject == (
        "[FocusLoop] Detractor comment on App: “Crashes at checkout. Every single time!”"
    )


def test_a_detractor_alert_quotes_a_long_comment_up_to_a_word_and_shows_its_scale_plainly():
    app = ProductFactory(name="App", slug="app")
    text = (
        "As a customer for three years, the app crashes at the payment step and I lost my "
        "whole basket since updating to version 4.2 last Tuesday."
    )
    FeedbackFactory(product=app, text=text, rating=3, rating_min=0, rating_max=10)

    assert alerts.create_detractor_follow_ups() == 1

    alert = Alert.objects.get()
    assert alert.title == (
        "Detractor comment on App: “As a customer for three years, the app crashes at the "
        "payment step and I lost my whole basket since updating to version…”"
    )
    assert (alert.evidence["rating"], alert.evidence["scale"]) == (3.0, "0–10")


def test_detractor_already_assigned_keeps_its_assignee(staff_member, manager):
    app = ProductFactory(name="App", slug="app")
    alerts.set_product_owner(product=app, owner=staff_member)
    taken = FeedbackFactory(
        product=app, text="Bad", rating=0, rating_min=0, rating_max=10, assignee=manager,
        status=Feedback.Status.ACTIONED,
    )  # fmt: skip
    alerts.create_detractor_follow_ups()
    taken.refresh_from_db()
    assert taken.assignee == manager and taken.status == Feedback.Status.ACTIONED
    assert Alert.objects.get().feedback == taken


def test_survey_comment_of_an_nps_detractor_gets_a_follow_up_even_without_an_owner():
    survey = make_survey()
    comment = FeedbackFactory(channel="survey", text="Support never answered")
    answer_survey(survey, submitted_at=timezone.now(), nps=4, comment="x", feedback=comment)
    happy = FeedbackFactory(channel="survey", text="Love it")
    answer_survey(survey, submitted_at=timezone.now(), nps=10, comment="y", feedback=happy)

    assert alerts.create_detractor_follow_ups() == 1
    alert = Alert.objects.get()
    assert alert.feedback == comment and alert.evidence["assigned_to"] == ""
    comment.refresh_from_db()
    assert comment.assignee is None


def test_owner_must_be_able_to_triage(outsider):
    app = ProductFactory(name="App", slug="app")
    with pytest.raises(Exception, match="cannot triage"):
        alerts.set_product_owner(product=app, owner=outsider)
    assert not ProductOwner.objects.exists()


def test_significant_sentiment_drop_raises_the_builtin_alert_once():
    for day in range(8, 35, 3):
        scored(5, label="positive", score=0.5, when=days_ago(day))
    for day in range(0, 6):
        scored(6, label="negative", score=-0.3, when=days_ago(day))
    services.refresh_daily_stats()

    assert alerts.evaluate_sentiment_drop(today=TODAY) == ["raised"]
    assert alerts.evaluate_sentiment_drop(today=TODAY) == ["updated"]
    alert = Alert.objects.get(kind="sentiment_drop")
    assert alert.fingerprint == "sentiment_drop:overall"
    assert alert.evidence["baseline_mean"] == 0.5 and alert.evidence["current_mean"] == -0.3


def test_a_products_sentiment_drop_clears_when_the_product_falls_silent():
    app = ProductFactory(name="App", slug="app")
    for day in range(8, 35, 3):
        scored(5, label="positive", score=0.5, when=days_ago(day), product=app)
    for day in range(0, 6):
        scored(6, label="negative", score=-0.3, when=days_ago(day), product=app)
    services.refresh_daily_stats()
    assert alerts.evaluate_sentiment_drop(today=TODAY) == ["raised", "raised"]

    # Weeks later nobody writes about the product any more: no drop left to see.
    alerts.evaluate_sentiment_drop(today=TODAY + dt.timedelta(days=60))

    assert not Alert.objects.unresolved().exists()
    assert Alert.objects.get(fingerprint=f"sentiment_drop:product:{app.pk}").resolution_note == (
        "Condition cleared."
    )


def test_emerging_rare_theme_raises_an_alert_and_clears_when_it_fades():
    monday = TODAY - dt.timedelta(days=TODAY.weekday())
    theme = Theme.objects.create(name="Login loop", slug="login-loop")
    steady = Theme.objects.create(name="Delivery", slug="delivery")
    for week, (rare, common) in enumerate(
        [(0, 20), (1, 22), (0, 19), (0, 21), (1, 20), (0, 18), (9, 21)]
    ):
        day = monday - dt.timedelta(weeks=6 - week)
        for t, count in ((theme, rare), (steady, common)):
            if count:
                DailyThemeStat.objects.create(
                    day=day, theme=t, channel="form", customer_kind="external",
                    feedback_count=count, analysed_count=count, negative_count=0,
                )  # fmt: skip

    assert alerts.evaluate_emerging_themes(today=TODAY) == ["raised"]
    alert = Alert.objects.get(kind="emerging_theme")
    assert alert.theme == theme and alert.evidence["current_week"] == 9
    assert alert.evidence["adjusted_p_value"] < 0.01

    DailyThemeStat.objects.filter(theme=theme, day=monday).delete()
    assert alerts.evaluate_emerging_themes(today=TODAY) == ["cleared"]
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_an_emerging_theme_alert_clears_when_no_theme_is_counted_any_more():
    theme = Theme.objects.create(name="Login loop", slug="login-loop")
    alerts.raise_alert(
        fingerprint=f"emerging:{theme.pk}:volume", kind="emerging_theme",
        title="Emerging theme “Login loop”", evidence={}, theme_id=theme.pk,
    )  # fmt: skip

    # Say every theme was archived and the theme rollup holds nothing for these weeks.
    assert alerts.evaluate_emerging_themes(today=TODAY) == ["cleared"]

    assert Alert.objects.get().status == "resolved"


def test_evaluate_alerts_runs_everything_and_reports(negative_share_rule, staff_member):
    scored(12, label="negative", score=-0.6, when=days_ago(1))
    FeedbackFactory(text="Terrible", rating=1, rating_min=1, rating_max=5)
    services.refresh_daily_stats()
    report = alerts.evaluate_alerts()
    assert report.raised == 1 and report.follow_ups == 1 and report.checked == 1
    assert report.errors == []


def test_a_rule_that_cannot_be_evaluated_shows_on_the_runs_page(negative_share_rule):
    from insights.models import AnalysisRun
    from insights.tasks import evaluate_alerts_task

    # Saved before its metric was retired from the product.
    AlertRule.objects.create(
        name="Old churn rule", metric="churn", condition="above", threshold=0.2, window_days=7
    )

    report = evaluate_alerts_task.apply().get()

    assert report["checked"] == 1
    run = AnalysisRun.objects.get(kind="alerts")
    assert run.status == "succeeded"
    assert run.error.startswith("1 alert rule(s) could not be evaluated; the others were: ")
    assert "rule “Old churn rule”" in run.error and "KeyError: 'churn'" in run.error


def test_acknowledge_then_resolve(manager):
    alert, _ = alerts.raise_alert(fingerprint="x", kind="rule", title="x", evidence={})
    alerts.acknowledge_alert(alert=alert, by=manager)
    assert alert.status == "acknowledged" and alert.acknowledged_by == manager
    # Still ongoing: a new detection updates the acknowledged alert.
    same, created = alerts.raise_alert(fingerprint="x", kind="rule", title="x", evidence={"n": 1})
    assert not created and same.pk == alert.pk
    alerts.resolve_alert(alert=alert, by=manager, note="Fixed the release")
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolution_note == "Fixed the release"
    with pytest.raises(Exception, match="already resolved"):
        alerts.resolve_alert(alert=alert, by=manager)


def test_a_page_read_before_the_alert_was_resolved_neither_reopens_nor_re_resolves_it(
    manager, staff_member
):
    alert, _ = alerts.raise_alert(fingerprint="rule:5", kind="rule", title="x", evidence={})
    shown_to_maria = Alert.objects.get(pk=alert.pk)
    shown_to_sam = Alert.objects.get(pk=alert.pk)

    alerts.resolve_alert(alert=shown_to_maria, by=manager, note="Fixed the release")
    with pytest.raises(ValidationError, match="already resolved"):
        alerts.acknowledge_alert(alert=shown_to_sam, by=staff_member)
    with pytest.raises(ValidationError, match="already resolved"):
        alerts.resolve_alert(alert=shown_to_sam, by=staff_member, note="Me too")

    stored = Alert.objects.get(pk=alert.pk)
    assert (stored.status, stored.resolved_by, stored.resolution_note) == (
        "resolved", manager, "Fixed the release",
    )  # fmt: skip
    assert stored.acknowledged_by is None


def test_acknowledging_an_alert_whose_condition_cleared_meanwhile_keeps_it_resolved(manager):
    alert, _ = alerts.raise_alert(fingerprint="rule:6", kind="rule", title="x", evidence={})
    shown = Alert.objects.get(pk=alert.pk)
    alerts.clear_condition("rule:6")

    with pytest.raises(ValidationError, match="already resolved"):
        alerts.acknowledge_alert(alert=shown, by=manager)

    assert Alert.objects.get(pk=alert.pk).status == "resolved"
    # The condition's next occurrence is a new alert, not blocked by a reopened one.
    assert alerts.raise_alert(fingerprint="rule:6", kind="rule", title="x", evidence={})[1]


def test_rule_without_threshold_is_refused_by_the_database():
    with pytest.raises(IntegrityError):
        AlertRule.objects.create(name="x", metric="nps", condition="above", window_days=7)


def test_inactive_user_is_not_notified(negative_share_rule):
    UserFactory(username="gone", role="manager", is_active=False)
    negative_share_rule.notify_users.add(UserFactory(username="gone"))
    assert "gone@example.com" not in alerts.rule_recipients(negative_share_rule)


def test_someone_who_lost_their_role_is_no_longer_notified(negative_share_rule, staff_member):
    negative_share_rule.notify_users.add(staff_member)
    assert "sam_staff@example.com" in alerts.rule_recipients(negative_share_rule)

    staff_member.groups.clear()

    assert "sam_staff@example.com" not in alerts.rule_recipients(negative_share_rule)


def test_volume_rules_count_complete_days_only():
    rule = AlertRule.objects.create(
        name="Busy", metric="volume", condition="above", threshold=5, window_days=2
    )
    scored(10, label="neutral", score=0.0, when=days_ago(0, hour=0))
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(rule) == "quiet"
    scored(10, label="neutral", score=0.0, when=days_ago(1))
    services.refresh_daily_stats()
    assert alerts.evaluate_rule(rule) == "raised"
    assert Alert.objects.get().evidence["value"] == 10


def test_alert_titles_round_their_numbers_and_evidence_has_no_negative_zero(client, manager):
    assert alerts.shown_value("volume", 35.8333) == "35.8"
    assert alerts.shown_value("volume", 90.0) == "90"
    assert alerts.shown_value("negative_share", 0.1234) == "12%"
    assert alerts.shown_p_value(0.000012) == "p < 0.001"
    alert, _ = alerts.raise_alert(
        fingerprint="zero", kind="rule", title="t", evidence={"ci_low": -0.0, "ci": [-0.0, 1.5]}
    )
    alert.refresh_from_db()
    assert alert.evidence == {"ci_low": 0.0, "ci": [0.0, 1.5]}
    assert str(alert.evidence["ci_low"]) == "0.0"


def test_significant_change_title_shows_rounded_values_and_p():
    rule = _nps_jump_rule()

    alerts.evaluate_rule(rule)

    assert Alert.objects.get().title.endswith("rose from -100.00 to 100.00 (p < 0.001)")


def _make_run_command(**env_overrides) -> str:
    import os
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"} | env_overrides
    root = Path(__file__).resolve().parents[2]
    dry_run = subprocess.run(
        ["make", "-n", "run", "PORT=8103"], cwd=root, env=env, capture_output=True, text=True
    )
    return next(line for line in dry_run.stdout.splitlines() if "honcho start" in line)


def test_make_run_points_email_links_at_its_own_port_unless_site_url_is_set():
    assert 'SITE_URL="http://127.0.0.1:8103"' in _make_run_command()
    assert 'SITE_URL="https://fb.example.com"' in _make_run_command(
        SITE_URL="https://fb.example.com"
    )
