"""Alerts: rules managers define, built-in detectors, de-duplication, notifications, follow-up.

An alert is identified by a **fingerprint** naming its ongoing condition (``rule:7``,
``rule:7:theme:12:segment:3`` for a rule narrowed to a theme and/or segment,
``sentiment_drop:product:3``, ``emerging:12:volume``, ``detractor:4711``). While an alert
with that fingerprint is unresolved, a new detection updates it (last seen, times seen,
evidence) instead of adding another; a partial unique index makes this hold under races.
When a rule's or a built-in's condition no longer holds, its open alert is resolved
automatically ("condition cleared"), so the next occurrence is a new alert. Detractor
follow-ups are per feedback and are resolved by people only.

Notifications (email, to the rule's recipients, or for built-ins to
``INSIGHTS_ALERT_EMAILS`` and the product's follow-up owner) go out once, when an alert is
created, after the transaction commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from api import webhooks
from feedback.models import Feedback

from . import selectors
from .analysis import stats
from .analysis.emerging import Period, detect_emerging
from .models import Alert, AlertRule, ProductOwner

logger = logging.getLogger(__name__)

# Detractor follow-ups look this far back, so a missed evaluation catches up.
DETRACTOR_LOOKBACK = dt.timedelta(days=2)
# Built-in sentiment drop: the last week against the four weeks before it.
SENTIMENT_DROP_CURRENT_DAYS = 7
SENTIMENT_DROP_BASELINE_DAYS = 28
SENTIMENT_DROP_MIN_ANALYSED = 30
SENTIMENT_DROP_MIN_DELTA = 0.1

TITLE_LENGTH = Alert._meta.get_field("title").max_length

# What each metric's threshold can sensibly be.
METRIC_RANGES = {
    "volume": (0, None),
    "negative_share": (0, 1),
    "average_sentiment": (-1, 1),
    "nps": (-100, 100),
    "csat_average": (1, 5),
    "csat_satisfied": (0, 1),
    "ces_average": (1, 7),
}


@dataclass
class EvaluationReport:
    raised: int = 0
    updated: int = 0
    cleared: int = 0
    follow_ups: int = 0
    checked: int = 0
    switched_off: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


# --- Raising, updating, clearing ---------------------------------------------------------


def raise_alert(
    *,
    fingerprint: str,
    kind: str,
    title: str,
    evidence: dict,
    rule: AlertRule | None = None,
    product_id: int | None = None,
    theme_id: int | None = None,
    feedback: Feedback | None = None,
    recipients: list[str] | None = None,
    now: dt.datetime | None = None,
) -> tuple[Alert, bool]:
    """Create the alert for ``fingerprint``, or update the unresolved one; return
    ``(alert, created)``. Sends the notification (after commit) only when created."""
    now = now or timezone.now()
    evidence = _without_negative_zero(evidence)
    # Names of a rule, its theme and its segment can together pass the column's length.
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1] + "…"
    with transaction.atomic():
        existing = (
            Alert.objects.select_for_update().unresolved().filter(fingerprint=fingerprint).first()
        )
        if existing is not None:
            existing.last_seen_at = now
            existing.times_seen += 1
            existing.evidence = evidence
            existing.title = title
            existing.save(update_fields=["last_seen_at", "times_seen", "evidence", "title"])
            return existing, False
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    fingerprint=fingerprint,
                    kind=kind,
                    title=title,
                    evidence=evidence,
                    rule=rule,
                    product_id=product_id,
                    theme_id=theme_id,
                    feedback=feedback,
                    last_seen_at=now,
                )
        except IntegrityError:
            # Another evaluation created it between our read and our insert.
            alert = Alert.objects.unresolved().get(fingerprint=fingerprint)
            return alert, False
        if recipients:
            transaction.on_commit(lambda: _send_notification(alert.pk, recipients))
        webhooks.emit("alert.fired", lambda: webhooks.alert_payload(alert))
    return alert, True


def clear_condition(fingerprint: str, *, now: dt.datetime | None = None) -> int:
    """Resolve the unresolved alert of a condition that no longer holds."""
    return _resolve_automatically(Alert.objects.filter(fingerprint=fingerprint), now=now)


def clear_rule_alerts(
    rule: AlertRule, *, keep: str = "", note: str = "Condition cleared.", now=None
) -> int:
    """Resolve the rule's unresolved alerts, but the one fingerprinted ``keep``: a rule
    whose filters changed watches another condition, and the old one's alert is over."""
    alerts = Alert.objects.filter(Q(rule=rule) | Q(fingerprint=rule.fingerprint))
    if keep:
        alerts = alerts.exclude(fingerprint=keep)
    return _resolve_automatically(alerts, note=note, now=now)


def _resolve_automatically(alerts, *, note: str = "Condition cleared.", now=None) -> int:
    return alerts.unresolved().update(
        status=Alert.Status.RESOLVED, resolved_at=now or timezone.now(), resolution_note=note[:300]
    )


def acknowledge_alert(*, alert: Alert, by) -> Alert:
    """Someone is on it. Raises ``ValidationError`` for a resolved alert.

    Both changes are conditional updates on the stored status, not a save of ``alert`` as
    it was read: a page shown before someone else (or the evaluator, its condition
    cleared) resolved the alert must not reopen it or overwrite who resolved it."""
    Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN).update(
        status=Alert.Status.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=by
    )
    alert.refresh_from_db()
    if alert.status == Alert.Status.RESOLVED:
        raise ValidationError("This alert is already resolved.", code="resolved")
    return alert


def resolve_alert(*, alert: Alert, by, note: str = "") -> Alert:
    """Close the alert; the same condition later raises a new one. Raises
    ``ValidationError`` when it is resolved already (see :func:`acknowledge_alert`)."""
    resolved = (
        Alert.objects.unresolved()
        .filter(pk=alert.pk)
        .update(
            status=Alert.Status.RESOLVED,
            resolved_at=timezone.now(),
            resolved_by=by,
            resolution_note=note.strip()[:300],
        )
    )
    alert.refresh_from_db()
    if not resolved:
        raise ValidationError("This alert is already resolved.", code="resolved")
    return alert


def _send_notification(alert_id: int, recipients: list[str]) -> None:
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        return
    lines = [alert.title, ""]
    # The evidence in the words of the alerts page, intervals and counts included.
    for key, label, shown in evidence_rows(alert.evidence):
        if key == "feedback_url" and shown != "—":  # a mail needs the whole address
            shown = _absolute(alert.evidence[key])
        lines.append(f"{label}: {shown}")
    lines += ["", f"Open alerts: {_absolute(reverse('insights:alerts'))}"]
    _email(subject=alert.title, lines=lines, recipients=recipients, what=f"alert {alert_id}")


def _absolute(path: str) -> str:
    return (settings.SITE_URL.rstrip("/") or "http://127.0.0.1:8000") + path


def _email(*, subject: str, lines: list[str], recipients: list[str], what: str) -> None:
    try:
        send_mail(
            # A line break in a header is refused (BadHeaderError): customers' comments,
            # quoted in a title, have them.
            subject=" ".join(f"[FocusLoop] {subject}".split())[:200],
            message="\n".join(lines),
            from_email=None,
            recipient_list=sorted(set(recipients)),
            fail_silently=False,
        )
    except Exception:  # a mail outage must not fail the evaluation; the alert is in the app
        logger.exception("Could not email %s", what)


def builtin_recipients() -> list[str]:
    return list(getattr(settings, "INSIGHTS_ALERT_EMAILS", []))


def rule_recipients(rule: AlertRule) -> list[str]:
    """The rule's addresses, and the people it names who may still see alerts (someone
    deactivated, or no longer in a role, is not told about the organisation's figures)."""
    emails = list(rule.notify_emails or [])
    emails += [
        user.email
        for user in rule.notify_users.all()
        if user.email and user.has_perm("insights.view_alerts")
    ]
    return emails


# --- Rules ---------------------------------------------------------------------------------


def evaluate_rule(rule: AlertRule, *, today: dt.date | None = None) -> str:
    """Evaluate one rule on the rollup; return "raised", "updated", "cleared", "quiet" or
    "switched_off" (its theme or segment went out of use, see :func:`switch_off_rule`).

    The window is the last ``window_days`` UTC days including today, except for volume:
    a count over a day still in progress would read low, so volume windows end yesterday.
    The filters narrow the rollup rows as the dashboard's do (:func:`selectors.rollup_rows`:
    a theme reads the theme rollup, a segment the segment rollup), so a rule computes the
    figure the dashboard shows for the same filters and days.
    """
    problems = rule.filters_out_of_use()
    if problems:
        switch_off_rule(rule=rule, reason="; ".join(problems.values()) + ".")
        return "switched_off"
    today = today or timezone.now().astimezone(dt.UTC).date()
    last_day = today - dt.timedelta(days=1) if rule.metric == "volume" else today
    end = last_day + dt.timedelta(days=1)
    start = end - dt.timedelta(days=rule.window_days)
    filters = {
        "product_id": rule.product_id,
        "channel": rule.channel,
        "customer_kind": rule.customer_kind,
        "theme_id": rule.theme_id,
        "segment_id": rule.segment_id,
    }
    current = selectors.rollup_totals(start=start, end=end, **filters)
    n = stats.metric_sample_size(rule.metric, current)
    estimate = stats.metric_estimate(rule.metric, current)
    fingerprint = rule.fingerprint
    evidence = {
        "metric": rule.metric,
        **_named_filters(rule),
        "window": f"{start.isoformat()} – {last_day.isoformat()}",
        "n": n,
        "value": None if estimate is None else round(estimate.value, 4),
        "ci_low": None if estimate is None else round(estimate.ci_low, 4),
        "ci_high": None if estimate is None else round(estimate.ci_high, 4),
    }
    firing = False
    # Volume is itself the sample size: a low count is what a "below" rule watches.
    enough = n >= rule.min_count or rule.metric == "volume"
    if estimate is not None and enough:
        if rule.condition == AlertRule.Condition.ABOVE:
            firing = estimate.value > rule.threshold
            evidence["threshold"] = rule.threshold
        elif rule.condition == AlertRule.Condition.BELOW:
            firing = estimate.value < rule.threshold
            evidence["threshold"] = rule.threshold
        else:
            previous = selectors.rollup_totals(
                start=start - dt.timedelta(days=rule.window_days), end=start, **filters
            )
            comparison = stats.metric_comparison(
                rule.metric, previous, current, alpha=settings.INSIGHTS_SIGNIFICANCE_ALPHA
            )
            if comparison is not None and (
                rule.metric == "volume"
                or stats.metric_sample_size(rule.metric, previous) >= rule.min_count
            ):
                firing = comparison.significant
                evidence.update(
                    previous_value=round(comparison.previous.value, 4),
                    difference=round(comparison.difference, 4),
                    difference_ci=[round(comparison.ci_low, 4), round(comparison.ci_high, 4)],
                    p_value=round(comparison.p_value, 6),
                    alpha=comparison.alpha,
                    test=comparison.test,
                )
    if not firing:
        return "cleared" if clear_rule_alerts(rule) else "quiet"
    # The rule's filters changed since its alert was raised (say, in the admin).
    clear_rule_alerts(rule, keep=fingerprint)
    label = AlertRule.Metric(rule.metric).label
    named = _named_filters(rule)
    scope = f" ({', '.join(f'{key} “{value}”' for key, value in named.items())})" if named else ""
    title = f"{rule.name}{scope}: {label} {_describe(rule, evidence)}"
    _, created = raise_alert(
        fingerprint=fingerprint,
        kind=Alert.Kind.RULE,
        title=title,
        evidence=evidence,
        rule=rule,
        product_id=rule.product_id,
        theme_id=rule.theme_id,
        recipients=rule_recipients(rule),
    )
    return "raised" if created else "updated"


def _named_filters(rule: AlertRule) -> dict[str, str]:
    named = {}
    if rule.theme_id is not None:
        named["theme"] = rule.theme.name
    if rule.segment_id is not None:
        named["segment"] = rule.segment.name
    return named


def switch_off_rule(*, rule: AlertRule, reason: str) -> None:
    """Stop evaluating a rule whose theme or segment went out of use, resolve its alerts
    and tell its recipients (once: the rule is then inactive). Evaluated on, it would read
    rows no longer kept (a merged theme's rows move to the target) and a "below" rule would fire
    on nothing. The rules page shows the reason; saving the rule again clears it."""
    reason = reason[:300]
    with transaction.atomic():
        AlertRule.objects.filter(pk=rule.pk).update(
            active=False, inactive_reason=reason, updated_at=timezone.now()
        )
        rule.active, rule.inactive_reason = False, reason
        clear_rule_alerts(rule, note=f"Rule switched off: {reason}")
        recipients = rule_recipients(rule)
        if recipients:
            lines = [
                f"The alert rule “{rule.name}” was switched off: {reason}",
                "",
                "Choose another filter and switch it on again: "
                + _absolute(reverse("insights:alert_rule_edit", args=[rule.pk])),
            ]
            transaction.on_commit(
                lambda: _email(
                    subject=f"Alert rule switched off: {rule.name}",
                    lines=lines,
                    recipients=recipients,
                    what=f"the switch-off of rule {rule.pk}",
                )
            )
    logger.warning("Alert rule %s switched off: %s", rule.pk, reason)


def _without_negative_zero(value):
    """``value`` with every −0.0 (a tiny negative number rounded) written as 0.0."""
    if isinstance(value, dict):
        return {key: _without_negative_zero(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_negative_zero(item) for item in value]
    if isinstance(value, float) and value == 0:
        return 0.0
    return value


def shown_value(metric: str, value: float) -> str:
    """A metric's value as a title shows it: counts whole (a weekly mean to one place),
    shares in percent, scores to two places."""
    if metric == "volume":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if metric in {"negative_share", "csat_satisfied", "response_rate"}:
        return f"{value:.0%}"
    return f"{value:.2f}"


def shown_p_value(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


# How the alerts page names an evidence key; others read as their words ("baseline_mean":
# "Baseline mean"). The alerts API keeps the keys.
EVIDENCE_LABELS = {
    "n": "Sample size",
    "n_current": "Sample size now",
    "n_baseline": "Sample size before",
    "ci_low": "Interval from",
    "ci_high": "Interval to",
    "difference_ci": "Interval of the difference",
    "p_value": "p-value",
    "adjusted_p_value": "p-value adjusted for the themes tested (Holm)",
    "alpha": "Significance level",
    "baseline_counts": "Weekly counts before",
    "current_week": "This week",
    "baseline_per_week": "Weekly mean before",
    "feedback_url": "Feedback",
}


def evidence_rows(evidence: dict) -> list[tuple[str, str, str]]:
    """``(key, label, shown value)`` for each piece of an alert's evidence, for people:
    labels in words, an interval as "low – high", other lists comma-separated, a metric
    or channel by its name, nothing as a dash."""
    from feedback.models import Feedback

    names = {"metric": dict(AlertRule.Metric.choices), "channel": dict(Feedback.Channel.choices)}

    def shown(key: str, value) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list | tuple):
            parts = [shown("", part) for part in value]
            return " – ".join(parts) if key.endswith("_ci") else ", ".join(parts)
        if isinstance(value, float):
            return f"{value:,.4f}".rstrip("0").rstrip(".")
        if isinstance(value, int):
            return f"{value:,}"
        return str(names.get(key, {}).get(value, value))

    rows = []
    for key, value in evidence.items():
        label = EVIDENCE_LABELS.get(key) or key.replace("_", " ")
        rows.append((key, label[:1].upper() + label[1:], shown(key, value)))
    return rows


def _describe(rule: AlertRule, evidence: dict) -> str:
    value = shown_value(rule.metric, evidence["value"])
    if rule.condition == AlertRule.Condition.SIGNIFICANT_CHANGE:
        direction = "rose" if evidence["difference"] > 0 else "fell"
        previous = shown_value(rule.metric, evidence["previous_value"])
        return f"{direction} from {previous} to {value} ({shown_p_value(evidence['p_value'])})"
    word = "above" if rule.condition == AlertRule.Condition.ABOVE else "below"
    return f"is {value}, {word} {shown_value(rule.metric, rule.threshold)}"


# --- Built-ins -----------------------------------------------------------------------------


def evaluate_sentiment_drop(*, today: dt.date | None = None) -> list[str]:
    """Overall and per product: the last 7 days' average sentiment against the 28 days
    before, Welch's t-test; alert on a significant drop of at least 0.1."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    end = today + dt.timedelta(days=1)
    split = end - dt.timedelta(days=SENTIMENT_DROP_CURRENT_DAYS)
    start = split - dt.timedelta(days=SENTIMENT_DROP_BASELINE_DAYS)
    outcomes = []
    busy = selectors.active_product_ids(since=start)
    # A product with an open drop is looked at again even when it is no longer among the
    # busiest (or fell silent), so its alert clears rather than staying open for ever.
    watched = (
        Alert.objects.unresolved()
        .filter(kind=Alert.Kind.SENTIMENT_DROP, product_id__isnull=False)
        .exclude(product_id__in=busy)
        .values_list("product_id", flat=True)
        .distinct()
    )
    scopes = [None, *busy, *watched]
    for product_id in scopes:
        current = selectors.rollup_totals(start=split, end=end, product_id=product_id)
        baseline = selectors.rollup_totals(start=start, end=split, product_id=product_id)
        fingerprint = "sentiment_drop:" + (
            "overall" if product_id is None else f"product:{product_id}"
        )
        comparison = None
        if (
            min(current["analysed_count"], baseline["analysed_count"])
            >= SENTIMENT_DROP_MIN_ANALYSED
        ):
            comparison = stats.metric_comparison(
                "average_sentiment", baseline, current, alpha=settings.INSIGHTS_SIGNIFICANCE_ALPHA
            )
        dropped = (
            comparison is not None
            and comparison.significant
            and comparison.difference <= -SENTIMENT_DROP_MIN_DELTA
        )
        if not dropped:
            if clear_condition(fingerprint):
                outcomes.append("cleared")
            continue
        scope_name = "overall" if product_id is None else _product_name(product_id)
        evidence = {
            "scope": scope_name,
            "baseline_window": f"{start.isoformat()} – {(split - dt.timedelta(days=1)).isoformat()}",
            "current_window": f"{split.isoformat()} – {today.isoformat()}",
            "baseline_mean": round(comparison.previous.value, 4),
            "current_mean": round(comparison.current.value, 4),
            "difference": round(comparison.difference, 4),
            "difference_ci": [round(comparison.ci_low, 4), round(comparison.ci_high, 4)],
            "p_value": round(comparison.p_value, 6),
            "test": comparison.test,
            "n_current": comparison.current.n,
            "n_baseline": comparison.previous.n,
        }
        _, created = raise_alert(
            fingerprint=fingerprint,
            kind=Alert.Kind.SENTIMENT_DROP,
            title=(
                f"Sentiment dropped ({scope_name}): {evidence['baseline_mean']:.2f} → "
                f"{evidence['current_mean']:.2f}"
            ),
            evidence=evidence,
            product_id=product_id,
            recipients=builtin_recipients(),
        )
        outcomes.append("raised" if created else "updated")
    return outcomes


def _product_name(product_id: int) -> str:
    from feedback.models import Product

    return Product.objects.filter(pk=product_id).values_list("name", flat=True).first() or "?"


def evaluate_emerging_themes(*, today: dt.date | None = None) -> list[str]:
    """Themes whose volume or negative share this week rises significantly against their
    last six weeks (see :mod:`insights.analysis.emerging`)."""
    from .analysis.emerging import BASELINE_PERIODS

    weeks = BASELINE_PERIODS + 1
    series = selectors.weekly_theme_periods(weeks=weeks, today=today)
    # No theme counted in these weeks at all: nothing emerges, and open alerts clear below.
    flagged = []
    if series:
        totals = selectors.feedback_volume_by_week(weeks=weeks, today=today)
        use_totals = all(totals)
        items = {
            theme_id: [
                Period(count=p["count"], negative=p["negative"], total=t if use_totals else None)
                for p, t in zip(periods, totals, strict=True)
            ]
            for theme_id, periods in series.items()
        }
        flagged = detect_emerging(items, alpha=settings.INSIGHTS_EMERGING_ALPHA)
    from .models import Theme

    names = dict(Theme.objects.filter(pk__in=series).values_list("pk", "name"))
    outcomes = []
    firing = set()
    for signal in flagged:
        fingerprint = f"emerging:{signal.key}:{signal.metric}"
        firing.add(fingerprint)
        what = "volume" if signal.metric == "volume" else "negative share"
        shown = "volume" if signal.metric == "volume" else "negative_share"
        name = names.get(signal.key, f"theme {signal.key}")
        _, created = raise_alert(
            fingerprint=fingerprint,
            kind=Alert.Kind.EMERGING_THEME,
            title=(
                f"Emerging theme “{name}”: {what} {shown_value(shown, signal.baseline)} → "
                f"{shown_value(shown, signal.current)} a week"
            ),
            evidence={
                "theme": name,
                "metric": signal.metric,
                "baseline_per_week": signal.baseline,
                "current_week": signal.current,
                "ratio": signal.ratio,
                "p_value": signal.p_value,
                "adjusted_p_value": signal.adjusted_p_value,
                **signal.evidence,
            },
            theme_id=signal.key,
            recipients=builtin_recipients(),
        )
        outcomes.append("raised" if created else "updated")
    stale = (
        Alert.objects.unresolved()
        .filter(kind=Alert.Kind.EMERGING_THEME)
        .exclude(fingerprint__in=firing)
        .values_list("fingerprint", flat=True)
    )
    for fingerprint in list(stale):
        clear_condition(fingerprint)
        outcomes.append("cleared")
    return outcomes


def detractor_feedback(*, since: dt.datetime):
    """Feedback with a comment from a detractor: NPS 0–6 (a 0–10 rating, or the NPS answer
    of the survey response the comment belongs to) or a 1★ review/rating on a 1–5 scale."""
    nps_rating = Q(rating_min=0, rating_max=10, rating__lte=6)
    one_star = Q(rating_min=1, rating_max=5, rating__lte=1)
    nps_answer = Q(
        survey_answer__response__answers__question__kind="nps",
        survey_answer__response__answers__number__lte=6,
    )
    return (
        Feedback.objects.filter(received_at__gte=since)
        .filter(nps_rating | one_star | nps_answer)
        .exclude(text="")
        .distinct()
        .order_by("id")
    )


def create_detractor_follow_ups(*, now: dt.datetime | None = None) -> int:
    """For each new detractor comment: assign the feedback to its product's follow-up
    owner (status triaged) unless someone already has it, and raise an alert. Idempotent:
    feedback that already has a follow-up alert is skipped."""
    from feedback.services import update_feedback_triage

    now = now or timezone.now()
    done = set(
        Alert.objects.filter(
            kind=Alert.Kind.DETRACTOR_COMMENT, created_at__gte=now - 2 * DETRACTOR_LOOKBACK
        ).values_list("feedback_id", flat=True)
    )
    owners = {po.product_id: po.owner for po in ProductOwner.objects.select_related("owner")}
    created = 0
    for feedback in detractor_feedback(since=now - DETRACTOR_LOOKBACK).select_related("product"):
        if feedback.pk in done:
            continue
        owner = owners.get(feedback.product_id)
        if owner is not None and not owner.has_perm("feedback.triage_feedback"):
            # Deactivated, or no longer in a role that triages: the customer's comment is
            # neither assigned to nor emailed to someone who may not read the inbox.
            logger.warning("Follow-up owner %s cannot triage; left unassigned", owner)
            owner = None
        with transaction.atomic():
            assigned_to = None
            if owner is not None and feedback.assignee_id is None:
                update_feedback_triage(
                    feedback=feedback,
                    assignee=owner,
                    status=Feedback.Status.TRIAGED
                    if feedback.status == Feedback.Status.NEW
                    else None,
                )
                assigned_to = owner.get_username()
            recipients = builtin_recipients()
            if owner is not None and owner.email:
                recipients.append(owner.email)
            _, was_created = raise_alert(
                fingerprint=f"detractor:{feedback.pk}",
                kind=Alert.Kind.DETRACTOR_COMMENT,
                title=f"Detractor comment on {feedback.product or 'no product'}: "
                f"“{_quote(feedback.text)}”",
                evidence={
                    "rating": None if feedback.rating is None else float(feedback.rating),
                    "scale": None
                    if feedback.rating_max is None
                    else f"{float(feedback.rating_min):g}–{float(feedback.rating_max):g}",
                    "channel": feedback.channel,
                    "assigned_to": assigned_to or "",
                    "feedback_url": reverse("feedback:detail", args=[feedback.pk]),
                },
                product_id=feedback.product_id,
                feedback=feedback,
                recipients=recipients,
                now=now,
            )
        created += was_created
    return created


def _quote(text: str, length: int = 120) -> str:
    """The start of a comment on one line, cut at a word with "…" when it goes on."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def evaluate_alerts(*, today: dt.date | None = None, run=None) -> EvaluationReport:
    """Evaluate every active rule and the built-ins once. A failing rule is logged and
    reported, and does not stop the others."""
    report = EvaluationReport()
    rules = list(
        AlertRule.objects.filter(active=True)
        .select_related("theme__merged_into", "segment")
        .prefetch_related("notify_users")
    )
    steps = len(rules) + 3
    for index, rule in enumerate(rules):
        try:
            outcome = evaluate_rule(rule, today=today)
        except Exception as exc:  # noqa: BLE001 — one broken rule must not silence the rest
            logger.exception("Alert rule %s failed", rule.pk)
            report.errors.append(f"rule “{rule.name}” (#{rule.pk}): {type(exc).__name__}: {exc}")
            continue
        _tally(report, outcome)
        report.checked += 1
        if run:
            run.progress(index + 1, steps)
    for outcome in evaluate_sentiment_drop(today=today):
        _tally(report, outcome)
    if run:
        run.progress(len(rules) + 1, steps)
    for outcome in evaluate_emerging_themes(today=today):
        _tally(report, outcome)
    if run:
        run.progress(len(rules) + 2, steps)
    report.follow_ups = create_detractor_follow_ups()
    if run:
        run.progress(steps, steps)
    return report


def _tally(report: EvaluationReport, outcome: str) -> None:
    if outcome == "raised":
        report.raised += 1
    elif outcome == "updated":
        report.updated += 1
    elif outcome == "cleared":
        report.cleared += 1
    elif outcome == "switched_off":
        report.switched_off += 1


# --- Rules and owners, as managers edit them ------------------------------------------------


# What a rule watches. A change to any of them is a new condition, whose figures the old
# alert does not describe; a new name or new recipients leave the ongoing alert open.
RULE_CONDITION_FIELDS = (
    "metric",
    "product_id",
    "channel",
    "customer_kind",
    "theme_id",
    "segment_id",
    "condition",
    "threshold",
    "window_days",
    "min_count",
    "active",
)


def validate_threshold(*, metric: str, threshold: float | None) -> None:
    """Raises ``ValidationError`` (on ``threshold``) for a threshold outside what the
    metric can be."""
    if threshold is None or metric not in METRIC_RANGES:
        return
    low, high = METRIC_RANGES[metric]
    if threshold < low or (high is not None and threshold > high):
        span = f"{low} to {high}" if high is not None else f"at least {low}"
        raise ValidationError({"threshold": [f"For this metric the threshold must be {span}."]})


def save_alert_rule(*, rule: AlertRule | None = None, by, data: dict, notify_users=()) -> AlertRule:
    """Create or update a rule from cleaned form data; a changed condition resolves the
    rule's alert. Raises ``ValidationError``."""
    stored = None
    if rule is not None and rule.pk:  # the form has set the new values on ``rule`` already
        stored = AlertRule.objects.filter(pk=rule.pk).values(*RULE_CONDITION_FIELDS).first()
    rule = rule or AlertRule(created_by=by)
    for name, value in data.items():
        setattr(rule, name, value)
    rule.inactive_reason = ""
    if rule.condition == AlertRule.Condition.SIGNIFICANT_CHANGE:
        rule.threshold = None
    validate_threshold(metric=rule.metric, threshold=rule.threshold)
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        rule.notify_users.set(notify_users)
        if stored != {name: getattr(rule, name) for name in RULE_CONDITION_FIELDS}:
            rule_changed(rule)
    return rule


def rule_changed(rule: AlertRule) -> None:
    """After a rule was saved with new settings (the rules page or the admin): a changed
    rule is a new condition, so neither the reason it was switched off nor its old alert
    describes it any more."""
    if rule.inactive_reason:
        rule.inactive_reason = ""
        AlertRule.objects.filter(pk=rule.pk).update(inactive_reason="")
    clear_rule_alerts(rule, note="The rule changed.")


def set_product_owner(*, product, owner) -> ProductOwner | None:
    """Make ``owner`` follow up ``product``'s detractors (``None`` removes the owner).
    Raises ``ValidationError`` when the owner cannot triage feedback."""
    if owner is None:
        ProductOwner.objects.filter(product=product).delete()
        return None
    if not owner.has_perm("feedback.triage_feedback"):
        raise ValidationError({"owner": ["This person cannot triage feedback."]})
    mapping, _ = ProductOwner.objects.update_or_create(product=product, defaults={"owner": owner})
    return mapping
