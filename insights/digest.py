"""The weekly email digest for managers: the week's KPIs against the week before, the
biggest significant movers among products and themes, and the alerts raised that week."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.roles import MANAGER

from . import dashboard
from .analysis import stats
from .dashboard_scope import Scope
from .models import Alert, DailyThemeStat, Theme

logger = logging.getLogger(__name__)

DIGEST_DAYS = 7
MOVERS_SHOWN = 5
MOVER_METRICS = ("negative_share", "average_sentiment", "nps", "csat_average", "volume")
# A retried or doubled beat run within this many seconds does not send the week again.
SENT_MARKER_SECONDS = 6 * 24 * 3600


def digest_recipients() -> list[str]:
    """Active users in the manager group with an email, plus ``INSIGHTS_DIGEST_EMAILS``."""
    users = get_user_model().objects.filter(is_active=True, groups__name=MANAGER).exclude(email="")
    emails = {email.strip().lower() for email in users.values_list("email", flat=True)}
    emails |= {email.strip().lower() for email in settings.INSIGHTS_DIGEST_EMAILS if email.strip()}
    return sorted(emails)


def _product_movers(scope: Scope) -> list[dict]:
    movers = []
    for row in dashboard.breakdown(scope, "product"):
        for metric in MOVER_METRICS:
            cell = row["cells"][metric]
            comparison = cell["comparison"]
            if comparison is not None and comparison.significant:
                movers.append(
                    {
                        "kind": "Product",
                        "name": row["label"],
                        "metric": cell["label"],
                        "metric_key": metric,
                        "percent": cell["percent"],
                        "previous": comparison.previous.value,
                        "current": comparison.current.value,
                        "difference": comparison.difference,
                        "p_value": comparison.p_value,
                        "statistic": abs(comparison.statistic),
                    }
                )
    return movers


def _theme_movers(scope: Scope) -> list[dict]:
    def volumes(start, end):
        return {
            row["theme_id"]: row["volume"] or 0
            for row in DailyThemeStat.objects.filter(day__gte=start, day__lt=end)
            .values("theme_id")
            .annotate(volume=Sum("feedback_count"))
            .order_by()
        }

    previous_scope = scope.previous()
    current = volumes(scope.start, scope.end)
    previous = volumes(previous_scope.start, previous_scope.end)
    names = dict(
        Theme.objects.filter(pk__in=set(current) | set(previous)).values_list("pk", "name")
    )
    floor = dashboard.min_group_size()
    alpha = settings.INSIGHTS_SIGNIFICANCE_ALPHA
    movers = []
    for theme_id, name in names.items():
        now, before = current.get(theme_id, 0), previous.get(theme_id, 0)
        if max(now, before) < floor:
            continue
        comparison = stats.count_difference(before, now, alpha=alpha)
        if comparison.significant:
            movers.append(
                {
                    "kind": "Theme",
                    "name": name,
                    "metric": "Feedback volume",
                    "metric_key": "volume",
                    "percent": False,
                    "previous": before,
                    "current": now,
                    "difference": comparison.difference,
                    "p_value": comparison.p_value,
                    "statistic": abs(comparison.statistic),
                }
            )
    return movers


def digest_context(*, today: dt.date | None = None) -> dict:
    """Everything the digest shows, for the ``DIGEST_DAYS`` complete days before today."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    scope = Scope(start=today - dt.timedelta(days=DIGEST_DAYS), end=today)
    movers = sorted(_product_movers(scope) + _theme_movers(scope), key=lambda m: -m["statistic"])[
        :MOVERS_SHOWN
    ]
    since = dt.datetime.combine(scope.start, dt.time.min, tzinfo=dt.UTC)
    alerts = list(
        Alert.objects.filter(created_at__gte=since)
        .select_related("product", "theme")
        .order_by("-created_at")[:20]
    )
    base = settings.SITE_URL.rstrip("/") or "http://127.0.0.1:8000"
    return {
        "scope": scope,
        "tiles": dashboard.kpi_tiles(scope),
        "movers": movers,
        "alerts": alerts,
        "dashboard_url": base + scope.dashboard_url(),
        "alerts_url": base + reverse("insights:alerts"),
        "confidence": round((1 - settings.INSIGHTS_SIGNIFICANCE_ALPHA) * 100),
    }


def send_weekly_digest(*, today: dt.date | None = None, force: bool = False) -> int:
    """Email the digest to every recipient (one message each, so nobody sees the list);
    return how many were sent.

    Sends once a day: a second call on the same day returns 0 unless ``force``. A
    recipient whose mail fails is logged and skipped; the others still get theirs."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    recipients = digest_recipients()
    if not recipients:
        return 0
    context = digest_context(today=today)
    # Claimed after the reads, so a retry after a database error still sends.
    marker = f"insights:weekly-digest:{today.isoformat()}"
    if not force and not cache.add(marker, True, SENT_MARKER_SECONDS):
        return 0
    subject = (
        f"[FocusLoop] Weekly insights {context['scope'].start:%d %b} – "
        f"{context['scope'].last_day:%d %b %Y}"
    )
    text = render_to_string("insights/email/weekly_digest.txt", context)
    html = render_to_string("insights/email/weekly_digest.html", context)
    sent = 0
    with get_connection() as connection:
        for email in recipients:
            message = EmailMultiAlternatives(subject, text, to=[email], connection=connection)
            message.attach_alternative(html, "text/html")
            try:
                sent += message.send()
            except Exception:  # one bad address or a hiccup must not stop the others
                logger.exception("Could not send the weekly digest to %s", email)
    return sent
