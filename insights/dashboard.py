"""The managers' dashboard: KPI tiles against the previous period, breakdowns by channel,
customer kind, product and segment, and the time series with its forecast.

Every number carries the inbox URL of the feedback behind it when there is one (survey
scores and invitations are not feedback, so NPS, CSAT, CES and the response rate have
none). The small-group guard: in a breakdown, or anywhere once the scope is narrowed by a
filter, a value computed from fewer than ``INSIGHTS_MIN_GROUP_SIZE`` items is hidden with
its link, so nobody can be singled out.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from feedback.models import Customer

from . import dashboard_cache
from . import dashboard_selectors as reads
from .analysis import stats
from .dashboard_scope import Scope, channel_label
from .trends import METRIC_LABELS

LABELS = {**METRIC_LABELS, "csat_average": "CSAT (1–5)", "ces_average": "CES (1–7)"}
LABELS["response_rate"] = "Survey response rate"
TILE_METRICS = (
    "nps",
    "csat_average",
    "ces_average",
    "average_sentiment",
    "volume",
    "negative_share",
    "response_rate",
)
BREAKDOWN_METRICS = (
    "volume",
    "negative_share",
    "average_sentiment",
    "nps",
    "csat_average",
    "ces_average",
)
# For ranking: True when a higher value serves customers better.
HIGHER_IS_BETTER = {
    "volume": None,
    "negative_share": False,
    "average_sentiment": True,
    "nps": True,
    "csat_average": True,
    "ces_average": True,
}
PERCENT_METRICS = {"negative_share", "csat_satisfied", "response_rate"}
SERIES_LENGTH = {"week": 52, "month": 24}


def min_group_size() -> int:
    return settings.INSIGHTS_MIN_GROUP_SIZE


def group_floor(narrows_customers: bool) -> int:
    """The fewest items a value is shown from: ``min_group_size()`` under a filter to a
    group of customers (a small group could point at a person), else no floor."""
    return min_group_size() if narrows_customers else 0


def too_small(n: int, floor: int) -> bool:
    """Whether a value from ``n`` items is hidden under ``floor`` (none: nothing to hide)."""
    return 0 < n < floor


def format_value(metric: str, estimate) -> str:
    """The value as the pages show it: counts whole, shares in percent, means to 2 places."""
    if estimate is None:
        return ""
    if metric == "volume":
        return f"{int(estimate.value):,}"
    if metric in PERCENT_METRICS:
        return f"{round(estimate.value * 100)}%"
    # Adding 0.0 turns the −0.0 that rounds from a tiny negative mean into 0.0.
    return f"{round(estimate.value, 2) + 0.0:.2f}"


def _drill_down(metric: str, scope: Scope, sums: dict) -> tuple[str, int] | None:
    """(inbox URL, how many feedback it lists) for a metric, or None without feedback."""
    if metric == "volume":
        return scope.inbox_url(), int(sums["feedback_count"])
    if metric == "negative_share":
        return scope.inbox_url(sentiment="negative"), int(sums["negative_count"])
    if metric == "average_sentiment":
        return scope.inbox_url(analysed="true"), int(sums["analysed_count"])
    return None


def _estimate(metric: str, sums, confidence: float):
    if metric == "response_rate":
        return stats.proportion(*sums, confidence=confidence) if sums and sums[1] else None
    return stats.metric_estimate(metric, sums, confidence=confidence)


def _sample_size(metric: str, sums) -> int:
    if metric == "response_rate":
        return sums[1] if sums else 0
    return stats.metric_sample_size(metric, sums)


def _comparison(metric: str, previous, current, alpha: float):
    if metric == "response_rate":
        if not (previous and current and previous[1] and current[1]):
            return None
        return stats.proportion_difference(previous, current, alpha=alpha)
    return stats.metric_comparison(metric, previous, current, alpha=alpha)


def metric_cell(
    metric: str, scope: Scope, current, previous, *, guarded: bool, compare: bool = True
) -> dict:
    """One metric in one scope: value, previous value, change with its test, drill-down.
    ``guarded`` applies the small-group guard; without ``compare`` (``previous`` is then
    None) only the current value is estimated."""
    alpha = settings.INSIGHTS_SIGNIFICANCE_ALPHA
    n_current = _sample_size(metric, current)
    n_previous = _sample_size(metric, previous) if compare else 0
    floor = group_floor(guarded)
    hidden = too_small(n_current, floor)
    previous_hidden = too_small(n_previous, floor)
    comparison = (
        None
        if hidden or previous_hidden or not compare
        else _comparison(metric, previous, current, alpha)
    )
    # A comparison carries both estimates at the same confidence: not computed twice.
    cell = {
        "metric": metric,
        "label": LABELS[metric],
        "percent": metric in PERCENT_METRICS,
        "hidden": hidden,
        "n_current": n_current,
        "n_previous": n_previous,
        "current": None
        if hidden
        else comparison.current
        if comparison
        else _estimate(metric, current, 1 - alpha),
        "previous": None
        if previous_hidden or not compare
        else comparison.previous
        if comparison
        else _estimate(metric, previous, 1 - alpha),
        "comparison": comparison,
        "drill_down": "",
        "drill_down_count": 0,
    }
    cell["display"] = format_value(metric, cell["current"])
    link = None if hidden or metric == "response_rate" else _drill_down(metric, scope, current)
    if link and link[1]:
        cell["drill_down"], cell["drill_down_count"] = link
    return cell


def _volume_sums(
    scope: Scope, current: dict, previous: dict, today: dt.date | None, *, group=None
) -> tuple[Scope, dict, dict]:
    """Volume's scope and sums (as :func:`reads.scoped_sums` gives them, by ``group``):
    over full days ending yesterday (:meth:`Scope.full_days`), a count over a day still in
    progress reading low; ``current`` and ``previous`` when that is the scope itself."""
    volume_scope = scope.full_days(today or timezone.now().astimezone(dt.UTC).date())
    if volume_scope == scope:
        return scope, current, previous
    return (
        volume_scope,
        reads.scoped_sums(volume_scope, group=group),
        reads.scoped_sums(volume_scope.previous(), group=group),
    )


def kpi_tiles(scope: Scope, *, today: dt.date | None = None) -> list[dict]:
    """The KPI tiles; volume over full days only (:func:`_volume_sums`)."""
    current = reads.scoped_sums(scope)
    previous = reads.scoped_sums(scope.previous())
    volume_scope, volume_now, volume_before = _volume_sums(scope, current, previous, today)
    current, previous = current[None], previous[None]
    volume_now, volume_before = volume_now[None], volume_before[None]
    rate_now = reads.response_rate_counts(scope)
    rate_before = reads.response_rate_counts(scope.previous())
    tiles = []
    for metric in TILE_METRICS:
        tile_scope, now, before = {
            "response_rate": (scope, rate_now, rate_before),
            "volume": (volume_scope, volume_now, volume_before),
        }.get(metric, (scope, current, previous))
        tile = metric_cell(metric, tile_scope, now, before, guarded=scope.narrows_customers)
        # Invitations have no theme and no channel but surveys: no rate under such a filter.
        tile["not_counted"] = metric == "response_rate" and rate_now is None
        if tile_scope != scope:
            tile["full_days"] = (tile_scope.start, tile_scope.last_day)
        tiles.append(tile)
    return tiles


SURVEY_SCORE_METRICS = ("nps", "csat_average", "ces_average")


def survey_score_tiles(scope: Scope) -> list[dict]:
    """The NPS, CSAT and CES tiles of the scope against the period before, only those
    with answers in either period (small groups hidden): a theme page's scores of the
    responses whose comments carry the theme."""
    current = reads.scoped_sums(scope)[None]
    previous = reads.scoped_sums(scope.previous())[None]
    tiles = [
        metric_cell(metric, scope, current, previous, guarded=True)
        for metric in SURVEY_SCORE_METRICS
    ]
    return [tile for tile in tiles if tile["n_current"] or tile["n_previous"]]


def _group_label_and_scope(group: str, key, scope: Scope, objects: dict):
    if group == "channel":
        return channel_label(key), {"channel": key}
    if group == "customer_kind":
        return Customer.Kind(key).label if key in Customer.Kind.values else key, {
            "customer_kind": key
        }
    item = objects.get(key)
    if group == "product":
        return (item.name if item else "No product"), {"product": item}
    return (item.name if item else ""), {"segment": item}


def breakdown(
    scope: Scope,
    group: str,
    *,
    rank_by: str = "",
    compare: bool = True,
    today: dt.date | None = None,
) -> list[dict]:
    """One row per value of ``group`` (channel, customer_kind, product, segment) with
    each breakdown metric (against the previous period when ``compare``; volume then over
    full days, as in :func:`kpi_tiles`), small groups hidden. Ranked worst first by
    ``rank_by`` when given, else largest volume first."""
    current = reads.scoped_sums(scope, group=group)
    previous = reads.scoped_sums(scope.previous(), group=group) if compare else {}
    today = today or timezone.now().astimezone(dt.UTC).date()
    full_days = False
    if compare:
        volume_scope, volume_now, volume_before = _volume_sums(
            scope, current, previous, today, group=group
        )
        full_days = volume_scope != scope
    if group == "product":
        objects = reads.products_by_id([k for k in current if k is not None])
    elif group == "segment":
        objects = reads.live_segments_by_id()
    else:
        objects = {}
    empty = dict.fromkeys(reads.ROLLUP_SUMS, 0)
    rows = []
    for key, sums in current.items():
        if group == "segment" and key not in objects:
            continue  # a discarded or suggested segment
        if group == "product" and key is not None and key not in objects:
            continue
        label, narrowing = _group_label_and_scope(group, key, scope, objects)
        if group == "product" and key is None:
            # The inbox cannot select "no product": the row shows numbers without links.
            sub_scope = None
        else:
            sub_scope = scope.narrowed(**narrowing)
        cells = {
            metric: metric_cell(
                metric,
                sub_scope or scope,
                sums,
                previous.get(key, empty) if compare else None,
                guarded=True,
                compare=compare,
            )
            for metric in BREAKDOWN_METRICS
        }
        if full_days:
            volume_scope = (sub_scope or scope).full_days(today)
            cells["volume"] = metric_cell(
                "volume",
                volume_scope,
                volume_now.get(key, empty),
                volume_before.get(key, empty),
                guarded=True,
            )
            cells["volume"]["full_days"] = (volume_scope.start, volume_scope.last_day)
        if sub_scope is None:
            for cell in cells.values():
                cell["drill_down"], cell["drill_down_count"] = "", 0
        rows.append(
            {
                "key": key,
                "label": label,
                "cells": cells,
                "dashboard_url": sub_scope.dashboard_url() if sub_scope else "",
            }
        )
    return (
        rank(rows, rank_by)
        if rank_by
        else sorted(rows, key=lambda row: -row["cells"]["volume"]["n_current"])
    )


def rank(rows: list[dict], metric: str) -> list[dict]:
    """Worst-served first by ``metric``; rows without a shown value go last."""
    better_high = HIGHER_IS_BETTER.get(metric)

    def key(row):
        estimate = row["cells"][metric]["current"]
        if estimate is None:
            return (1, 0.0)
        value = estimate.value
        return (0, value if better_high else -value)

    return sorted(rows, key=key)


def _period_starts(scope: Scope) -> tuple[dt.date, list[dt.date]]:
    """The first day of each week or month in the series, oldest first: the last
    ``SERIES_LENGTH`` periods, or more when the scope starts earlier."""
    last = scope.last_day
    if scope.interval == "month":
        start = dt.date(last.year, last.month, 1)
    else:
        start = last - dt.timedelta(days=last.weekday())
    starts = [start]
    while len(starts) < SERIES_LENGTH[scope.interval] or starts[-1] > scope.start:
        starts.append(_previous_start(starts[-1], scope.interval))
    starts.reverse()
    return starts[0], starts


def _previous_start(start: dt.date, interval: str) -> dt.date:
    if interval == "month":
        return dt.date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, 1)
    return start - dt.timedelta(weeks=1)


def _next_start(start: dt.date, interval: str) -> dt.date:
    if interval == "month":
        return dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start + dt.timedelta(weeks=1)


def time_series(scope: Scope) -> dict:
    """Volume, negative share and average sentiment per week or month, ending with the
    scope's last day (at least the last year or two), each point linking to its feedback;
    with the latest volume forecast and its prediction band when one covers this scope."""
    first, starts = _period_starts(scope)
    end = scope.end
    sums = reads.scoped_sums(scope.narrowed(start=first), group=scope.interval)
    empty = dict.fromkeys(reads.ROLLUP_SUMS, 0)
    floor = group_floor(scope.narrows_customers)
    points = []
    for start in starts:
        period = sums.get(start, empty)
        volume, analysed = int(period["feedback_count"]), int(period["analysed_count"])
        hidden = too_small(volume, floor)
        point_scope = scope.narrowed(start=start, end=min(_next_start(start, scope.interval), end))
        points.append(
            {
                "period": start.isoformat(),
                "volume": None if hidden else volume,
                "negative_share": None
                if hidden or not analysed or analysed < floor
                else round(period["negative_count"] / analysed, 4),
                "average_sentiment": None
                if hidden or not analysed or analysed < floor
                else round(period["sentiment_sum"] / analysed, 4),
                "link": "" if hidden or not volume else point_scope.inbox_url(),
            }
        )
    return {
        "interval": scope.interval,
        "points": points,
        "forecast": _forecast_for(scope, last_period=starts[-1]),
    }


def _forecast_for(scope: Scope, *, last_period: dt.date) -> list[dict]:
    """The volume forecast of the scope when one is kept for it (overall, one product or
    one theme, and no other filter) and it continues the series: its first week is no
    later than the one after ``last_period``, the series' last week. A stored forecast
    starts with the current week, so a range that ended weeks ago has none."""
    other_filters = (scope.channel, scope.segment, scope.customer_kind)
    if scope.interval != "week" or any(other_filters) or (scope.product and scope.theme):
        return []
    forecast = reads.latest_forecast(
        metric="volume",
        product_id=scope.product.pk if scope.product else None,
        theme_id=scope.theme.pk if scope.theme else None,
    )
    if forecast is None or not forecast.points:
        return []
    if dt.date.fromisoformat(forecast.points[0]["week"]) > last_period + dt.timedelta(weeks=1):
        return []
    return [
        {
            "period": point["week"],
            "value": point.get("value"),
            "lower": point.get("lower"),
            "upper": point.get("upper"),
        }
        for point in forecast.points
    ]


def chart_bars(rows: list[dict]) -> list[dict]:
    """JSON-safe bars for a breakdown chart: hidden groups carry no value and no link."""
    bars = []
    for row in rows:
        volume, negative = row["cells"]["volume"], row["cells"]["negative_share"]
        bars.append(
            {
                "label": str(row["label"]),
                "volume": None if volume["hidden"] else volume["n_current"],
                "volume_link": volume["drill_down"],
                "negative_share": None
                if negative["current"] is None
                else round(negative["current"].value, 4),
                "negative_link": negative["drill_down"],
            }
        )
    return bars


def overview(scope: Scope) -> dict:
    # The tiles carry the period comparison; the breakdowns show the period itself,
    # which halves the overview's statistics work (see docs/dashboard.md, Speed).
    channels = breakdown(scope, "channel", compare=False)
    customer_kinds = breakdown(scope, "customer_kind", compare=False)
    return {
        "tiles": kpi_tiles(scope),
        "channels": channels,
        "customer_kinds": customer_kinds,
        "chart_channels": chart_bars(channels),
        "chart_kinds": chart_bars(customer_kinds),
        "series": time_series(scope),
        "min_group_size": min_group_size(),
        "confidence": round((1 - settings.INSIGHTS_SIGNIFICANCE_ALPHA) * 100),
        "alpha": settings.INSIGHTS_SIGNIFICANCE_ALPHA,
    }


def cached_overview(scope: Scope) -> dict:
    """:func:`overview`, cached per scope and rollup version."""
    return dashboard_cache.cached(
        "overview", dashboard_cache.scope_key(scope), lambda: overview(scope)
    )


def rankings(scope: Scope, rank_by: str) -> tuple[list[dict], list[dict]]:
    """Product and segment rows ranked by ``rank_by``, cached like :func:`cached_overview`
    (and renewed when a product or segment is added, renamed or discarded)."""

    def compute():
        return (
            breakdown(scope, "product", rank_by=rank_by),
            breakdown(scope, "segment", rank_by=rank_by),
        )

    def parts():
        return (dashboard_cache.scope_key(scope), rank_by, dashboard_cache.labels_stamp())

    return dashboard_cache.cached("rankings", parts, compute)


# --- Tables as rows, for CSV ----------------------------------------------------------


def _value(cell_estimate, metric: str = ""):
    if cell_estimate is None:
        return None
    return int(cell_estimate.value) if metric == "volume" else round(cell_estimate.value, 4)


def tiles_table(tiles: list[dict]) -> tuple[list[str], list[list]]:
    header = [
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "previous",
        "change",
        "p_value",
        "significant",
    ]
    rows = []
    for tile in tiles:
        current, comparison = tile["current"], tile["comparison"]
        rows.append(
            [
                tile["label"],
                _value(current, tile["metric"]),
                None if current is None else round(current.ci_low, 4),
                None if current is None else round(current.ci_high, 4),
                None if tile["hidden"] else tile["n_current"],
                _value(tile["previous"], tile["metric"]),
                None if comparison is None else round(comparison.difference, 4),
                None if comparison is None else round(comparison.p_value, 6),
                None if comparison is None else comparison.significant,
            ]
        )
    return header, rows


def breakdown_table(rows: list[dict], first_column: str) -> tuple[list[str], list[list]]:
    header = [first_column]
    for metric in BREAKDOWN_METRICS:
        header += [metric, f"{metric}_n", f"{metric}_change", f"{metric}_significant"]
    table = []
    for row in rows:
        line = [row["label"]]
        for metric in BREAKDOWN_METRICS:
            cell = row["cells"][metric]
            comparison = cell["comparison"]
            line += [
                _value(cell["current"], metric),
                None if cell["hidden"] else cell["n_current"],
                None if comparison is None else round(comparison.difference, 4),
                None if comparison is None else comparison.significant,
            ]
        table.append(line)
    return header, table


def series_table(series: dict) -> tuple[list[str], list[list]]:
    header = [series["interval"], "volume", "negative_share", "average_sentiment"]
    return header, [
        [p["period"], p["volume"], p["negative_share"], p["average_sentiment"]]
        for p in series["points"]
    ]


def sparkline(values: list[int], *, width: int = 96, height: int = 24) -> str:
    """SVG polyline points for a small trend line of ``values`` (oldest first)."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{round(i * step, 1)},{round(height - (value / top) * (height - 2) - 1, 1)}"
        for i, value in enumerate(values)
    )
