"""Theme reads for the codebook pages: volumes and sentiment come from the theme rollup."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, Sum
from django.utils import timezone

from feedback.models import Feedback

from . import dashboard_cache
from .analysis.themes import QUOTES_PER_THEME
from .models import DailyThemeStat, FeedbackTheme, KeywordRule, Theme, ThemeModel

CODEBOOK_DAYS = 90


def keyword_rule_matches(rule: KeywordRule) -> int:
    """How many feedback texts ``rule`` matches (one pass over the texts in the database)."""
    from .theme_services import keyword_regex

    regex = keyword_regex(rule.keyword_list)
    return 0 if regex is None else Feedback.objects.filter(text__iregex=regex).count()


def codebook(*, days: int = CODEBOOK_DAYS, include_hidden: bool = False) -> list[dict]:
    """Every theme with its volume, share of themed feedback (of the feedback with at least
    one theme, each counted once: the shares add up to more than 100 % when feedback has
    several themes), mean sentiment and negative share over the last ``days`` days (from
    :class:`DailyThemeStat`), pinned first."""
    since = timezone.now().astimezone(dt.UTC).date() - dt.timedelta(days=days - 1)

    def theme_totals() -> dict[int, dict]:
        return {
            row["theme_id"]: row
            for row in DailyThemeStat.objects.filter(day__gte=since)
            .values("theme_id")
            .annotate(
                volume=Sum("feedback_count"),
                analysed=Sum("analysed_count"),
                negative=Sum("negative_count"),
                sentiment=Sum("sentiment_sum"),
            )
            .order_by()
        }

    # The sums grow with the rollup (a million feedback: a hundred thousand theme rows);
    # cached per window and rollup version like the dashboard's blocks. The themes
    # themselves (names, status, rules) are read fresh.
    def themed_feedback() -> int:
        # A feedback carries up to three themes: the share's denominator counts it once.
        since_start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
        return (
            FeedbackTheme.objects.exclude(theme__status=Theme.Status.MERGED)
            .filter(feedback__received_at__gte=since_start)
            .values("feedback_id")
            .distinct()
            .count()
        )

    totals = dashboard_cache.cached("codebook-totals", (since.isoformat(),), theme_totals)
    themed = dashboard_cache.cached("codebook-themed", (since.isoformat(),), themed_feedback)
    themes = Theme.objects.annotate(rule_count=Count("keyword_rules"))
    if not include_hidden:
        themes = themes.exclude(status=Theme.Status.MERGED)
    rows = []
    for theme in themes:
        total = totals.get(theme.pk, {})
        volume = total.get("volume") or 0
        analysed = total.get("analysed") or 0
        rows.append(
            {
                "theme": theme,
                "volume": volume,
                "share": (volume / themed) if themed else None,
                "sentiment": (total.get("sentiment") / analysed) if analysed else None,
                "negative_share": (total.get("negative") / analysed) if analysed else None,
            }
        )
    status_order = {"active": 0, "proposed": 1, "archived": 2, "merged": 3}
    rows.sort(
        key=lambda row: (not row["theme"].pinned, status_order[row["theme"].status], -row["volume"])
    )
    return rows


SPARKLINE_WEEKS = 12


def emerging_theme_ids() -> set[int]:
    """Themes with an unresolved emerging-theme alert."""
    from .models import Alert

    return set(
        Alert.objects.unresolved()
        .filter(kind=Alert.Kind.EMERGING_THEME, theme__isnull=False)
        .values_list("theme_id", flat=True)
    )


def weekly_theme_counts(*, weeks: int = SPARKLINE_WEEKS) -> dict[int, list[int]]:
    """Per theme: feedback per ISO week, oldest first, ending with the current week."""
    from .selectors import weekly_theme_periods

    today = timezone.now().astimezone(dt.UTC).date()
    return dashboard_cache.cached(
        "codebook-weekly",
        (weeks, today.isoformat()),
        lambda: {
            theme_id: [period["count"] for period in periods]
            for theme_id, periods in weekly_theme_periods(weeks=weeks, today=today).items()
        },
    )


def theme_weekly_totals(theme: Theme, *, weeks: int, today: dt.date) -> list[dict]:
    """The theme's feedback, analysed and negative counts per ISO week, oldest first,
    ending with the last complete week."""
    from django.db.models.functions import TruncWeek

    last_monday = today - dt.timedelta(days=today.weekday(), weeks=1)
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    rows = (
        DailyThemeStat.objects.filter(
            theme=theme, day__gte=first_monday, day__lt=last_monday + dt.timedelta(weeks=1)
        )
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(
            count=Sum("feedback_count"),
            analysed=Sum("analysed_count"),
            negative=Sum("negative_count"),
        )
        .order_by()
    )
    by_week = {
        (row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]): row
        for row in rows
    }
    weeks_out = []
    for n in range(weeks):
        monday = first_monday + dt.timedelta(weeks=n)
        row = by_week.get(monday, {})
        weeks_out.append(
            {
                "week": monday,
                "count": row.get("count") or 0,
                "analysed": row.get("analysed") or 0,
                "negative": row.get("negative") or 0,
            }
        )
    return weeks_out


QUOTE_FIELDS = ("id", "text", "received_at", "sentiment_label", "channel")


def theme_quotes(theme: Theme) -> list[Feedback]:
    """The theme's representative quotes that still carry it (a split, a merge or a new
    assignment moves feedback away, and a curated theme keeps the quotes discovery chose),
    topped up with its strongest members."""
    wanted = QUOTES_PER_THEME
    by_id = {
        item.pk: item
        for item in Feedback.objects.filter(pk__in=theme.quotes or [], themes__theme=theme).only(
            *QUOTE_FIELDS
        )
    }
    quotes = [by_id[pk] for pk in theme.quotes or [] if pk in by_id][:wanted]
    if len(quotes) < wanted:
        quotes += (
            Feedback.objects.filter(themes__theme=theme)
            .exclude(pk__in=list(by_id))
            .order_by("-themes__score", "-id")
            .only(*QUOTE_FIELDS)[: wanted - len(quotes)]
        )
    return quotes


def theme_detail(theme: Theme) -> dict:
    quotes = theme_quotes(theme)
    counts = FeedbackTheme.objects.filter(theme=theme).aggregate(
        total=Count("id"),
        by_model=Count("id", filter=Q(source=FeedbackTheme.Source.MODEL)),
        by_rule=Count("id", filter=Q(source=FeedbackTheme.Source.RULE)),
        manual=Count("id", filter=Q(source=FeedbackTheme.Source.MANUAL)),
    )
    recent = (
        FeedbackTheme.objects.filter(theme=theme)
        .select_related("feedback")
        .order_by("-feedback__received_at", "-feedback_id")[:10]
    )
    return {
        "quotes": quotes,
        "counts": counts,
        "recent": recent,
        "rules": KeywordRule.objects.filter(theme=theme).select_related("created_by"),
        "children": theme.children.all(),
        "merged_from": theme.merged_from.all(),
        "merge_targets": Theme.objects.exclude(pk=theme.pk).exclude(status=Theme.Status.MERGED),
    }


def active_theme_model() -> ThemeModel | None:
    return ThemeModel.objects.active().first()


def feedback_theme_links(feedback: Feedback) -> list[FeedbackTheme]:
    """The themes ``feedback`` carries that take feedback (active, proposed), strongest
    first. Reads the prefetched ``themes__theme`` links when there are any (the feedback
    page and the API list), else one query."""
    if "themes" in getattr(feedback, "_prefetched_objects_cache", {}):
        links = feedback.themes.all()
    else:
        links = feedback.themes.select_related("theme")
    return sorted(
        (link for link in links if link.theme.status in Theme.ASSIGNABLE_STATUSES),
        key=lambda link: (-link.score, link.theme.name.lower()),
    )


def themes_to_add(links: list[FeedbackTheme]) -> list[Theme]:
    """The themes a manager may add by hand to a feedback carrying ``links``."""
    return list(
        Theme.objects.assignable()
        .exclude(pk__in=[link.theme_id for link in links])
        .order_by("name")
    )
