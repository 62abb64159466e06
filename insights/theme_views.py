"""Codebook pages: managers read themes with feedback.view_insights and curate them with
insights.change_theme."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors
from feedback.selectors import get_feedback_for_user

from . import dashboard, dashboard_cache, exports, theme_forms, theme_selectors, theme_services
from .analysis import spc
from .dashboard_scope import Scope
from .models import KeywordRule, Theme

CURATE = "insights.change_theme"


@permission_required("feedback.view_insights")
def themes(request):
    show_hidden = request.GET.get("show") == "all"
    rows = theme_selectors.codebook(include_hidden=show_hidden)
    today = timezone.now().astimezone(dt.UTC).date()
    window = Scope(
        start=today - dt.timedelta(days=theme_selectors.CODEBOOK_DAYS - 1),
        end=today + dt.timedelta(days=1),
    )
    weekly = theme_selectors.weekly_theme_counts()
    emerging = theme_selectors.emerging_theme_ids()
    for row in rows:
        theme = row["theme"]
        counts = weekly.get(theme.pk, [0] * theme_selectors.SPARKLINE_WEEKS)
        row["weekly"] = counts
        row["sparkline"] = dashboard.sparkline(counts)
        row["emerging"] = theme.pk in emerging
        row["drill_down"] = window.narrowed(theme=theme).inbox_url() if row["volume"] else ""
    if request.GET.get("format") == "csv":
        return exports.csv_response(
            "focusloop-themes",
            [
                "theme",
                "volume",
                "share",
                "average_sentiment",
                "negative_share",
                "status",
                "emerging",
            ]
            + [f"week_{n + 1}" for n in range(theme_selectors.SPARKLINE_WEEKS)],
            (
                [
                    row["theme"].name,
                    row["volume"],
                    None if row["share"] is None else round(row["share"], 4),
                    None if row["sentiment"] is None else round(row["sentiment"], 4),
                    None if row["negative_share"] is None else round(row["negative_share"], 4),
                    row["theme"].status,
                    row["emerging"],
                    *row["weekly"],
                ]
                for row in rows
            ),
        )
    return render(
        request,
        "insights/themes.html",
        {
            "rows": rows,
            "show_hidden": show_hidden,
            "model": theme_selectors.active_theme_model(),
            "days": theme_selectors.CODEBOOK_DAYS,
            "can_curate": request.user.has_perm(CURATE),
            "sparkline_weeks": theme_selectors.SPARKLINE_WEEKS,
        },
    )


THEME_TREND_WEEKS = 26


def _theme_insights(theme: Theme) -> dict:
    """The theme's weekly trend with its p-chart of the negative share, the products and
    segments it hits and the survey scores (NPS, CSAT, CES) of the responses whose
    comments carry it over the codebook window (small groups hidden), all from the
    theme rollups; cached per day, theme and rollup version (renewed when the theme
    rollups are recounted) until the theme changes."""
    today = timezone.now().astimezone(dt.UTC).date()

    def parts():
        return (
            theme.pk,
            str(theme.updated_at),
            today.isoformat(),
            dashboard_cache.labels_stamp(),
        )

    return dashboard_cache.cached("theme", parts, lambda: _compute_theme_insights(theme, today))


def _compute_theme_insights(theme: Theme, today: dt.date) -> dict:
    weekly = theme_selectors.theme_weekly_totals(theme, weeks=THEME_TREND_WEEKS, today=today)
    window = Scope(
        start=today - dt.timedelta(days=theme_selectors.CODEBOOK_DAYS - 1),
        end=today + dt.timedelta(days=1),
        theme=theme,
    )
    for week in weekly:
        week_scope = window.narrowed(start=week["week"], end=week["week"] + dt.timedelta(weeks=1))
        week["drill_down"] = week_scope.inbox_url() if week["count"] else ""
    counts = [week["count"] for week in weekly]
    chart = spc.p_chart([(w["week"].isoformat(), w["negative"], w["analysed"]) for w in weekly])
    return {
        "weekly": weekly,
        "weekly_counts": counts,
        "theme_sparkline": dashboard.sparkline(counts),
        "theme_chart": chart,
        "theme_chart_data": {"p": chart.as_dict()},
        "theme_products": dashboard.breakdown(window, "product"),
        "theme_segments": dashboard.breakdown(window, "segment"),
        "theme_score_tiles": dashboard.survey_score_tiles(window),
        "theme_window": window,
        "min_group_size": dashboard.min_group_size(),
        "confidence": round((1 - settings.INSIGHTS_SIGNIFICANCE_ALPHA) * 100),
    }


def _detail(request, theme: Theme, *, status: int = 200, **forms):
    context = {
        "theme": theme,
        "merged_into": theme.final_theme() if theme.merged_into_id else None,
        "can_curate": request.user.has_perm(CURATE),
        "rename_form": forms.get("rename_form")
        or theme_forms.RenameThemeForm(initial={"name": theme.name}),
        "merge_form": forms.get("merge_form") or theme_forms.MergeThemeForm(theme=theme),
        "split_form": forms.get("split_form") or theme_forms.SplitThemeForm(),
        "rule_form": forms.get("rule_form") or theme_forms.KeywordRuleForm(),
        **theme_selectors.theme_detail(theme),
        **_theme_insights(theme),
    }
    return render(request, "insights/theme_detail.html", context, status=status)


@permission_required("feedback.view_insights")
def theme_detail(request, pk: int):
    return _detail(request, get_object_or_404(Theme, pk=pk))


def _merged_meanwhile(request, theme: Theme):
    """A theme merged since the page was loaded (by another manager, or by this form sent
    twice) is not curated any more: say so and show the theme that holds its feedback.
    None when ``theme`` is not merged."""
    if theme.status != Theme.Status.MERGED:
        return None
    final = theme.final_theme()
    messages.error(
        request, f"“{theme.name}” has been merged into “{final.name}”; nothing was changed."
    )
    return redirect("insights:theme_detail", pk=final.pk)


def _apply(request, theme: Theme, form, form_name: str, action, success: str):
    """Validate ``form``, run ``action(cleaned_data)``; errors re-render the page (400)."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect("insights:theme_detail", pk=theme.pk)
    return _detail(request, theme, status=400, **{form_name: form})


@permission_required(CURATE)
@require_POST
def theme_rename(request, pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    form = theme_forms.RenameThemeForm(request.POST)
    return _apply(
        request,
        theme,
        form,
        "rename_form",
        lambda data: theme_services.rename_theme(theme=theme, name=data["name"]),
        "Theme renamed. Re-discovery keeps this name.",
    )


@permission_required(CURATE)
@require_POST
def theme_merge(request, pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    form = theme_forms.MergeThemeForm(request.POST, theme=theme)
    if form.is_valid():
        try:
            target = theme_services.merge_themes(source=theme, target=form.cleaned_data["target"])
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, f"“{theme.name}” merged into “{target.name}”.")
            return redirect("insights:theme_detail", pk=target.pk)
    return _detail(request, theme, status=400, merge_form=form)


@permission_required(CURATE)
@require_POST
def theme_split(request, pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    form = theme_forms.SplitThemeForm(request.POST)
    return _apply(
        request,
        theme,
        form,
        "split_form",
        lambda data: theme_services.split_theme(
            theme=theme, keywords=data["keywords"].split(","), name=data["name"]
        ),
        "Theme split.",
    )


@permission_required(CURATE)
@require_POST
def theme_status(request, pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    form = theme_forms.StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose active or archived.")
        return redirect("insights:theme_detail", pk=theme.pk)
    try:
        theme_services.set_status(theme=theme, status=form.cleaned_data["status"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Theme is {theme.get_status_display().lower()}.")
    return redirect("insights:theme_detail", pk=theme.pk)


@permission_required(CURATE)
@require_POST
def theme_pin(request, pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    form = theme_forms.PinForm(request.POST)
    form.is_valid()
    theme_services.set_pinned(theme=theme, pinned=form.cleaned_data.get("pinned", False))
    messages.success(request, "Theme pinned." if theme.pinned else "Theme unpinned.")
    return redirect("insights:theme_detail", pk=theme.pk)


@permission_required(CURATE)
@require_POST
def theme_rule_add(request, pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    form = theme_forms.KeywordRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = theme_services.add_keyword_rule(
                theme=theme, keywords=form.cleaned_data["keywords"], by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            matched = theme_selectors.keyword_rule_matches(rule)
            when = (
                "once the theme is restored"
                if theme.status == Theme.Status.ARCHIVED
                else "in the background"
            )
            messages.success(
                request, f"Keyword rule added: it matches {matched} feedback, themed {when}."
            )
            return redirect("insights:theme_detail", pk=theme.pk)
    return _detail(request, theme, status=400, rule_form=form)


@permission_required(CURATE)
@require_POST
def theme_rule_delete(request, pk: int, rule_pk: int):
    theme = get_object_or_404(Theme, pk=pk)
    if stale := _merged_meanwhile(request, theme):
        return stale
    rule = KeywordRule.objects.filter(pk=rule_pk, theme=theme).first()
    if rule is None:  # removed by another manager, or this form sent twice
        messages.info(request, "That keyword rule had already been removed.")
    else:
        theme_services.delete_keyword_rule(rule=rule)
        messages.success(request, "Keyword rule removed.")
    return redirect("insights:theme_detail", pk=pk)


@permission_required(CURATE)
@require_POST
def themes_discover(request):
    first_run = not Theme.objects.exists()
    try:
        theme_services.request_discovery()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Theme discovery queued; the themes appear here once it has run."
            if first_run
            else "Theme discovery queued. New themes appear as proposed; curated themes are kept.",
        )
    return redirect("insights:themes")


# --- a feedback's themes, from the feedback page -------------------------------------------


def _change_feedback_theme(request, pk: int, theme_pk, change, *, done: str, missing: str):
    """Run ``change(feedback=…, theme=…)`` for the feedback (404 unless the user may triage
    it) and the chosen theme, say how it went and go back to the feedback's themes."""
    feedback = get_feedback_for_user(request.user, pk)
    try:
        theme = Theme.objects.select_related("merged_into").get(pk=int(theme_pk or ""))
    except (Theme.DoesNotExist, ValueError):
        messages.error(request, missing)
    else:
        try:
            change(feedback=feedback, theme=theme)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, done.format(name=theme.name))
    return redirect(f"{reverse('feedback:detail', args=[feedback.pk])}#themes")


@permission_required(CURATE)
@require_POST
def feedback_theme_add(request, pk: int):
    return _change_feedback_theme(
        request, pk, request.POST.get("theme"), theme_services.set_manual_theme,
        done="Theme “{name}” added by hand.", missing="Choose a theme to add.",
    )  # fmt: skip


@permission_required(CURATE)
@require_POST
def feedback_theme_remove(request, pk: int, theme_pk: int):
    return _change_feedback_theme(
        request, pk, theme_pk, theme_services.remove_manual_theme,
        done="Theme “{name}” removed.", missing="That theme no longer exists.",
    )  # fmt: skip
