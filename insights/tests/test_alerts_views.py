"""Alert pages per role: the list, acknowledge/resolve, rules and follow-up owners."""

import pytest
from django.urls import reverse

from feedback.tests.factories import ProductFactory
from insights import alerts
from insights.models import Alert, AlertRule, ProductOwner

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_alert():
    alert, _ = alerts.raise_alert(
        fingerprint="rule:99", kind="rule", title="Volume <script>alert(1)</script> spike",
        evidence={"value": 42, "p_value": 0.001},
    )  # fmt: skip
    return alert


@pytest.mark.parametrize(
    "name", ["insights:alerts", "insights:alert_rules", "insights:alert_rule_new"]
)
def test_anonymous_visitors_are_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_outsider_sees_no_alerts(client, outsider, open_alert):
    client.force_login(outsider)
    assert client.get(reverse("insights:alerts")).status_code == 403
    url = reverse("insights:alert_acknowledge", args=[open_alert.pk])
    assert client.post(url).status_code == 403
    open_alert.refresh_from_db()
    assert open_alert.status == "open"


def test_staff_sees_alerts_escaped_and_can_acknowledge_and_resolve(
    client, staff_member, open_alert, django_assert_max_num_queries
):
    client.force_login(staff_member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("insights:alerts"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert "0.001" in body

    response = client.post(reverse("insights:alert_acknowledge", args=[open_alert.pk]))
    assert response.status_code == 302
    open_alert.refresh_from_db()
    assert open_alert.status == "acknowledged" and open_alert.acknowledged_by == staff_member

    client.post(
        reverse("insights:alert_resolve", args=[open_alert.pk]),
        {"note": "Rolled back", "status": "resolved"},
    )
    open_alert.refresh_from_db()
    assert open_alert.status == "resolved" and open_alert.resolution_note == "Rolled back"
    card = f'id="alert-{open_alert.pk}"'
    assert card not in client.get(reverse("insights:alerts")).content.decode()
    resolved = client.get(reverse("insights:alerts") + "?status=resolved").content.decode()
    assert card in resolved and "Rolled back" in resolved


def test_alert_evidence_reads_in_words(client, staff_member):
    alerts.raise_alert(
        fingerprint="drop:overall", kind="sentiment_drop", title="Sentiment dropped",
        evidence={
            "metric": "negative_share", "ci_low": 0.1234, "difference_ci": [-0.21, -0.05],
            "baseline_counts": [3, 4, 5], "assigned_to": "", "p_value": 0.0004,
            "n_current": 1200,
        },
    )  # fmt: skip
    client.force_login(staff_member)

    body = client.get(reverse("insights:alerts")).content.decode()

    facts = body[body.index('<dl class="facts">') : body.index("</dl>")]
    for shown in (
        "<dt>Metric</dt><dd>Negative share (0–1)</dd>",
        "<dt>Interval from</dt><dd>0.1234</dd>",
        "<dt>Interval of the difference</dt><dd>-0.21 – -0.05</dd>",
        "<dt>Weekly counts before</dt><dd>3, 4, 5</dd>",
        "<dt>Assigned to</dt><dd>—</dd>",
        "<dt>P-value</dt><dd>0.0004</dd>",
        "<dt>Sample size now</dt><dd>1,200</dd>",
    ):
        assert shown in facts
    assert "Ci_low" not in facts and "[" not in facts


def test_the_navigation_badge_counts_alerts_nobody_has_looked_at(
    client, staff_member, outsider, open_alert
):
    seen, _ = alerts.raise_alert(fingerprint="rule:100", kind="rule", title="Seen", evidence={})
    alerts.acknowledge_alert(alert=seen, by=staff_member)
    client.force_login(staff_member)
    page = client.get(reverse("insights:alerts")).content.decode()
    assert f'data-alert-count-url="{reverse("insights:alert_count")}"' in page
    assert "js/alert_badge.js" in page

    response = client.get(reverse("insights:alert_count"))
    assert response.json() == {"open": 1}
    assert response["Cache-Control"] == "no-store"

    client.force_login(outsider)
    assert client.get(reverse("insights:alert_count")).status_code == 403
    assert "alert_badge.js" not in client.get(reverse("feedback:public_form")).content.decode()


def test_resolving_twice_is_a_message_not_an_error(client, staff_member, open_alert):
    client.force_login(staff_member)
    url = reverse("insights:alert_resolve", args=[open_alert.pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "already resolved" in response.content.decode()


def test_alert_actions_need_post(client, staff_member, open_alert):
    client.force_login(staff_member)
    assert (
        client.get(reverse("insights:alert_acknowledge", args=[open_alert.pk])).status_code == 405
    )
    assert client.post(reverse("insights:alert_resolve", args=[9999])).status_code == 404


def test_staff_cannot_manage_rules(client, staff_member):
    client.force_login(staff_member)
    assert client.get(reverse("insights:alert_rules")).status_code == 403
    assert client.post(reverse("insights:alert_rule_new"), {"name": "x"}).status_code == 403
    assert not AlertRule.objects.exists()


def test_manager_creates_a_rule(client, manager, staff_member):
    app = ProductFactory(name="App", slug="app")
    client.force_login(manager)
    assert client.get(reverse("insights:alert_rule_new")).status_code == 200
    response = client.post(
        reverse("insights:alert_rule_new"),
        {
            "name": "App NPS below 20", "metric": "nps", "product": app.pk, "channel": "",
            "customer_kind": "external", "condition": "below", "threshold": "20",
            "window_days": "14", "min_count": "30", "active": "on",
            "notify_emails": "cx@example.com; lead@example.com",
            "notify_users": [staff_member.pk],
        },
    )  # fmt: skip
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.metric, rule.threshold, rule.product, rule.created_by) == ("nps", 20, app, manager)
    assert rule.notify_emails == ["cx@example.com", "lead@example.com"]
    assert list(rule.notify_users.all()) == [staff_member]
    page = client.get(reverse("insights:alert_rules")).content.decode()
    assert "App NPS below 20" in page


def test_the_people_to_notify_are_a_group_named_above_their_boxes(client, manager, staff_member):
    client.force_login(manager)

    page = client.get(reverse("insights:alert_rule_new")).content.decode()

    group = page[page.index('<fieldset class="choices">') :]
    group = group[: group.index("</fieldset>")]
    assert group.index("<legend>Notify people") < group.index('name="notify_users"')
    assert "sam_staff" in group and "maria_manager" in group
    # Not a label for one of the boxes, after them.
    assert 'for="id_notify_users"' not in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"threshold": ""}, "threshold", "needs a threshold"),
        ({"threshold": "150"}, "threshold", "-100 to 100"),
        ({"window_days": "0"}, "window_days", "1 to 90"),
        ({"notify_emails": "cx@example.com, not-an-email"}, "notify_emails", "not-an-email"),
        ({"metric": "bogus"}, "metric", "valid choice"),
    ],
)
def test_bad_rule_input_is_a_form_error_and_nothing_is_saved(
    client, manager, changes, field, message
):
    client.force_login(manager)
    data = {
        "name": "x", "metric": "nps", "condition": "below", "threshold": "20",
        "window_days": "7", "min_count": "20", **changes,
    }  # fmt: skip
    response = client.post(reverse("insights:alert_rule_new"), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not AlertRule.objects.exists()


def test_a_threshold_out_of_range_is_reported_with_the_other_fields_errors(client, manager):
    client.force_login(manager)
    data = {
        "name": "CSAT low", "metric": "csat_average", "condition": "below", "threshold": "9",
        "window_days": "120", "min_count": "20", "notify_emails": "cx@example.com, nope",
    }  # fmt: skip

    response = client.post(reverse("insights:alert_rule_new"), data)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert sorted(errors) == ["notify_emails", "threshold", "window_days"]
    assert errors["threshold"] == ["For this metric the threshold must be 1 to 5."]
    assert not AlertRule.objects.exists()


def test_significant_change_rule_needs_no_threshold_and_editing_clears_its_alert(client, manager):
    client.force_login(manager)
    data = {
        "name": "Sentiment moves", "metric": "average_sentiment",
        "condition": "significant_change", "threshold": "0.4", "window_days": "7",
        "min_count": "20", "active": "on",
    }  # fmt: skip
    assert client.post(reverse("insights:alert_rule_new"), data).status_code == 302
    rule = AlertRule.objects.get()
    assert rule.threshold is None
    alerts.raise_alert(
        fingerprint=f"rule:{rule.pk}", kind="rule", title="x", evidence={}, rule=rule
    )

    data["window_days"] = "28"
    assert client.post(reverse("insights:alert_rule_edit", args=[rule.pk]), data).status_code == 302
    rule.refresh_from_db()
    assert rule.window_days == 28
    assert Alert.objects.get().status == "resolved"


def test_renaming_a_rule_or_adding_a_recipient_keeps_its_ongoing_alert(client, manager):
    client.force_login(manager)
    data = {
        "name": "Too negative", "metric": "negative_share", "condition": "above",
        "threshold": "0.3", "window_days": "7", "min_count": "20", "active": "on",
    }  # fmt: skip
    assert client.post(reverse("insights:alert_rule_new"), data).status_code == 302
    rule = AlertRule.objects.get()
    alert, _ = alerts.raise_alert(
        fingerprint=rule.fingerprint, kind="rule", title="x", evidence={}, rule=rule
    )

    data.update(name="Too negative (app)", notify_emails="cx@example.com")
    assert client.post(reverse("insights:alert_rule_edit", args=[rule.pk]), data).status_code == 302

    alert.refresh_from_db()
    assert alert.status == "open"
    # The condition itself goes on: the same alert is updated, not raised again.
    assert alerts.raise_alert(
        fingerprint=rule.fingerprint, kind="rule", title="x", evidence={}, rule=rule
    ) == (alert, False)


def test_manager_sets_and_removes_a_follow_up_owner(client, manager, staff_member, outsider):
    app = ProductFactory(name="App", slug="app")
    client.force_login(manager)
    url = reverse("insights:product_owner_set")
    assert client.post(url, {"product": app.pk, "owner": staff_member.pk}).status_code == 302
    assert ProductOwner.objects.get().owner == staff_member
    # Someone without a role is not offered and not accepted.
    response = client.post(url, {"product": app.pk, "owner": outsider.pk})
    assert response.status_code == 400
    assert ProductOwner.objects.get().owner == staff_member
    assert client.post(url, {"product": app.pk, "owner": ""}).status_code == 302
    assert not ProductOwner.objects.exists()
