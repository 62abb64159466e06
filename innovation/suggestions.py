"""Weekly idea suggestions: themes that hurt and have no idea yet, for a manager to accept.

Two kinds of theme are proposed, each with its numbers over the last
``SUGGESTION_WINDOW_DAYS`` complete days (from the theme rollup) and its most negative
feedback as evidence:

* **emerging** — a theme the insights emerging-theme check flagged during the last week
  (an emerging-theme alert seen in the last ``EMERGING_LOOKBACK``, whatever its status),
  when the rise is in its negative share, or its window is at least
  ``EMERGING_MIN_NEGATIVE_SHARE`` negative;
* **pain point** — at least ``IDEA_SUGGESTION_MIN_VOLUME`` pieces of feedback in the window,
  at least ``PAIN_POINT_MIN_NEGATIVE_SHARE`` of the analysed ones negative.

A theme that already has a live idea (any status, not merged away) is not proposed. A
pending suggestion is refreshed with this week's numbers, never duplicated (a partial unique
index holds one pending suggestion per theme, even when two runs race). A dismissed theme
comes back only when its window volume reached ``IDEA_SUGGESTION_REGROWTH`` × its volume at
dismissal **and** the rise is significant (exact Poisson-rate test, same-length windows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from insights.models import Alert, DailyThemeStat, FeedbackTheme, Theme

from .analysis.impact import regrown
from .models import Idea, IdeaEvidence, IdeaSuggestion

SUGGESTION_WINDOW_DAYS = 28
EMERGING_LOOKBACK = dt.timedelta(days=7)
PAIN_POINT_MIN_NEGATIVE_SHARE = 0.5
EMERGING_MIN_NEGATIVE_SHARE = 0.3
EVIDENCE_PER_SUGGESTION = 5


@dataclass
class SuggestionReport:
    created: list[int] = field(default_factory=list)
    refreshed: list[int] = field(default_factory=list)
    # Themes held back because a dismissed suggestion has not regrown enough.
    held_back: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def suggestion_window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """``(start, end)``: the last complete UTC days, ``start ≤ day < end``."""
    end = today or _today()
    return end - dt.timedelta(days=SUGGESTION_WINDOW_DAYS), end


def theme_window_numbers(*, start: dt.date, end: dt.date) -> dict[int, dict]:
    """Per theme with feedback in the window: volume, analysed and negative counts."""
    rows = (
        DailyThemeStat.objects.filter(day__gte=start, day__lt=end)
        .exclude(theme__status__in=[Theme.Status.ARCHIVED, Theme.Status.MERGED])
        .values("theme_id")
        .annotate(
            volume=Sum("feedback_count"),
            analysed=Sum("analysed_count"),
            negative=Sum("negative_count"),
        )
        .order_by()
    )
    return {
        row["theme_id"]: {
            "volume": row["volume"] or 0,
            "analysed": row["analysed"] or 0,
            "negative": row["negative"] or 0,
        }
        for row in rows
    }


def _negative_share(numbers: dict) -> float:
    return numbers["negative"] / numbers["analysed"] if numbers["analysed"] else 0.0


def _emerging_signals(*, now: dt.datetime) -> dict[int, dict]:
    """Theme id → the evidence of its most recent emerging-theme alert of the last week."""
    alerts = (
        Alert.objects.filter(
            kind=Alert.Kind.EMERGING_THEME,
            theme__isnull=False,
            last_seen_at__gte=now - EMERGING_LOOKBACK,
        )
        .order_by("last_seen_at", "id")
        .values("theme_id", "evidence")
    )
    signals: dict[int, dict] = {}
    for alert in alerts:
        evidence = alert["evidence"] or {}
        # A negative-share rise wins over a volume rise for the same theme.
        if signals.get(alert["theme_id"], {}).get("metric") != "negative_share":
            signals[alert["theme_id"]] = evidence
    return signals


def _candidates(numbers: dict[int, dict], emerging: dict[int, dict]) -> dict[int, str]:
    """Theme id → suggestion kind, before the live-idea and dismissal checks."""
    kinds: dict[int, str] = {}
    for theme_id, signal in emerging.items():
        window = numbers.get(theme_id)
        if signal.get("metric") == "negative_share" or (
            window and _negative_share(window) >= EMERGING_MIN_NEGATIVE_SHARE
        ):
            kinds[theme_id] = IdeaSuggestion.Kind.EMERGING
    for theme_id, window in numbers.items():
        if theme_id in kinds:
            continue
        if (
            window["volume"] >= settings.IDEA_SUGGESTION_MIN_VOLUME
            and _negative_share(window) >= PAIN_POINT_MIN_NEGATIVE_SHARE
        ):
            kinds[theme_id] = IdeaSuggestion.Kind.PAIN_POINT
    return kinds


def _customers_and_value(
    theme_ids: list[int], *, start: dt.date, end: dt.date
) -> dict[int, tuple[int, Decimal]]:
    """Theme id → (distinct customers who gave feedback in the window, their annual value)."""
    rows = (
        FeedbackTheme.objects.filter(
            theme_id__in=theme_ids,
            feedback__received_at__gte=_midnight(start),
            feedback__received_at__lt=_midnight(end),
            feedback__customer__isnull=False,
        )
        .values_list("theme_id", "feedback__customer_id", "feedback__customer__annual_value")
        .distinct()
        .order_by()
    )
    out: dict[int, tuple[int, Decimal]] = {}
    for theme_id, _customer_id, value in rows:
        count, total = out.get(theme_id, (0, Decimal(0)))
        out[theme_id] = (count + 1, total + (value or 0))
    return out


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def representative_feedback_ids(*, theme_id: int, start: dt.date, end: dt.date) -> list[int]:
    """The theme's most negative feedback in the window, strongest first."""
    return list(
        FeedbackTheme.objects.filter(
            theme_id=theme_id,
            feedback__received_at__gte=_midnight(start),
            feedback__received_at__lt=_midnight(end),
            feedback__sentiment_label="negative",
        )
        .order_by("feedback__sentiment_score", "-score", "-feedback_id")
        .values_list("feedback_id", flat=True)[:EVIDENCE_PER_SUGGESTION]
    )


def _latest_decisions(theme_ids) -> tuple[set[int], dict[int, IdeaSuggestion]]:
    """(themes with a pending suggestion, theme → its latest decided suggestion)."""
    pending, decided = set(), {}
    rows = IdeaSuggestion.objects.filter(theme_id__in=theme_ids).order_by(
        "decided_at", "created_at", "id"
    )
    for suggestion in rows:
        if suggestion.status == IdeaSuggestion.Status.PENDING:
            pending.add(suggestion.theme_id)
        else:
            decided[suggestion.theme_id] = suggestion
    return pending, decided


def suggest_ideas(*, today: dt.date | None = None) -> SuggestionReport:
    """Create or refresh this week's suggestions; see the module docstring for the rules.

    Safe to run twice or concurrently: a second pending suggestion for a theme is refused
    by the database and the run refreshes the existing one instead.
    """
    start, end = suggestion_window(today)
    now = timezone.now() if today is None else _midnight(end)
    numbers = theme_window_numbers(start=start, end=end)
    emerging = _emerging_signals(now=now)
    kinds = _candidates(numbers, emerging)
    with_ideas = set(
        Idea.objects.live().filter(theme_id__in=kinds).values_list("theme_id", flat=True)
    )
    kinds = {theme_id: kind for theme_id, kind in kinds.items() if theme_id not in with_ideas}
    report = SuggestionReport()
    if not kinds:
        return report

    pending, decided = _latest_decisions(kinds)
    customers = _customers_and_value(list(kinds), start=start, end=end)
    names = dict(Theme.objects.filter(pk__in=kinds).values_list("pk", "name"))
    alpha = settings.INSIGHTS_SIGNIFICANCE_ALPHA
    for theme_id, kind in sorted(kinds.items()):
        window = numbers.get(theme_id, {"volume": 0, "analysed": 0, "negative": 0})
        count, value = customers.get(theme_id, (0, Decimal(0)))
        figures = {
            "window_days": SUGGESTION_WINDOW_DAYS,
            "window_start": start.isoformat(),
            "window_end": (end - dt.timedelta(days=1)).isoformat(),
            "volume": window["volume"],
            "analysed": window["analysed"],
            "negative": window["negative"],
            "negative_share": round(_negative_share(window), 4),
            "customers": count,
            "value_at_stake": str(value.quantize(Decimal("0.01"))),
        }
        if theme_id in emerging:
            signal = emerging[theme_id]
            figures["emerging"] = {
                key: signal.get(key)
                for key in ("metric", "baseline_per_week", "current_week", "adjusted_p_value")
            }
        previous = decided.get(theme_id)
        if (
            theme_id not in pending
            and previous is not None
            and previous.status == IdeaSuggestion.Status.DISMISSED
        ):
            growth = regrown(
                dismissed_volume=previous.dismissed_volume or 0,
                current_volume=window["volume"],
                factor=settings.IDEA_SUGGESTION_REGROWTH,
                alpha=alpha,
            )
            if not growth["regrown"]:
                report.held_back.append(theme_id)
                continue
            figures["regrowth"] = growth
        values = {
            "kind": kind,
            "title": f"Address “{names.get(theme_id, theme_id)}”"[:200],
            "numbers": figures,
            "evidence_ids": representative_feedback_ids(theme_id=theme_id, start=start, end=end),
        }
        suggestion, created = _upsert_pending(theme_id, values)
        (report.created if created else report.refreshed).append(suggestion.pk)
    return report


def _upsert_pending(theme_id: int, values: dict) -> tuple[IdeaSuggestion, bool]:
    updated = IdeaSuggestion.objects.filter(
        theme_id=theme_id, status=IdeaSuggestion.Status.PENDING
    ).update(**values)
    if updated:
        return IdeaSuggestion.objects.get(theme_id=theme_id, status="pending"), False
    try:
        with transaction.atomic():
            return IdeaSuggestion.objects.create(theme_id=theme_id, **values), True
    except IntegrityError:
        # A concurrent run created it between our update and our insert.
        IdeaSuggestion.objects.filter(theme_id=theme_id, status="pending").update(**values)
        return IdeaSuggestion.objects.get(theme_id=theme_id, status="pending"), False


# --- Deciding --------------------------------------------------------------------------


def default_problem(suggestion: IdeaSuggestion) -> str:
    """The problem statement an accepted suggestion starts with: its numbers, in words."""
    n = suggestion.numbers or {}
    text = (
        f"{n.get('volume', 0)} pieces of feedback about “{suggestion.theme.name}” in the "
        f"{n.get('window_days', SUGGESTION_WINDOW_DAYS)} days to {n.get('window_end', '?')}, "
        f"{round(100 * n.get('negative_share', 0))}% of them negative, from "
        f"{n.get('customers', 0)} customers (value at stake {n.get('value_at_stake', '0')})."
    )
    emerging = n.get("emerging")
    if emerging:
        what = "negative share" if emerging.get("metric") == "negative_share" else "volume"
        text += (
            f" Emerging: {what} went from {emerging.get('baseline_per_week')} a week to "
            f"{emerging.get('current_week')} this week."
        )
    return text


def _claim_pending(suggestion: IdeaSuggestion) -> IdeaSuggestion:
    locked = (
        IdeaSuggestion.objects.select_for_update(of=("self",))
        .select_related("theme")
        .get(pk=suggestion.pk)
    )
    if locked.status != IdeaSuggestion.Status.PENDING:
        raise ValidationError(
            f"This suggestion was already {locked.get_status_display().lower()}.",
            code="decided",
        )
    return locked


def accept_suggestion(
    *,
    suggestion: IdeaSuggestion,
    by,
    title: str = "",
    problem: str = "",
    product=None,
) -> Idea:
    """Turn a pending suggestion into an idea (origin "suggested", the suggestion's feedback
    as evidence) and link it. Raises ``ValidationError`` when it was already decided (two
    managers clicking at once: the row lock lets one win)."""
    from .services import create_idea

    with transaction.atomic():
        locked = _claim_pending(suggestion)
        from feedback.models import Feedback

        still_there = set(
            Feedback.objects.filter(pk__in=locked.evidence_ids).values_list("pk", flat=True)
        )
        idea = create_idea(
            title=(title or locked.title).strip()[:200],
            problem=(problem or default_problem(locked)).strip(),
            created_by=by,
            product=product,
            theme=locked.theme,
            origin=Idea.Origin.SUGGESTED,
            feedback_ids=[pk for pk in locked.evidence_ids if pk in still_there],
            evidence_source=IdeaEvidence.Source.SUGGESTION,
        )
        locked.status = IdeaSuggestion.Status.ACCEPTED
        locked.idea = idea
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "idea", "decided_by", "decided_at"])
    suggestion.refresh_from_db()
    return idea


def dismiss_suggestion(*, suggestion: IdeaSuggestion, by) -> IdeaSuggestion:
    """Dismiss a pending suggestion, remembering the volume it had: the theme is proposed
    again only after it grows significantly past it. Raises ``ValidationError`` when it
    was already decided."""
    with transaction.atomic():
        locked = _claim_pending(suggestion)
        locked.status = IdeaSuggestion.Status.DISMISSED
        locked.dismissed_volume = int((locked.numbers or {}).get("volume", 0))
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "dismissed_volume", "decided_by", "decided_at"])
    suggestion.refresh_from_db()
    return suggestion


# --- Reads -------------------------------------------------------------------------------


def suggestions_for_page(*, status: str = IdeaSuggestion.Status.PENDING):
    rows = IdeaSuggestion.objects.select_related("theme", "decided_by", "idea")
    if status in IdeaSuggestion.Status.values:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


def evidence_previews(suggestions) -> dict[int, list]:
    """Feedback id → feedback row, for the evidence of a page of suggestions (one query)."""
    from feedback.models import Feedback

    ids = {pk for s in suggestions for pk in (s.evidence_ids or [])}
    return Feedback.objects.select_related("customer").in_bulk(ids)
