from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from feedback.selectors import get_feedback_for_user

from . import dashboard as dashboard_data
from . import exports, model_training, runs, selectors, trends
from .forms import DashboardFilterForm
from .models import AnalysisRun, SentimentModel

# Which model labels every feedback is a change to the analysis, like curating themes: it
# takes the managers' change permission, not the read permission of the insights pages.
SWITCH_SENTIMENT_MODEL = "insights.change_theme"


def _filters(request):
    """The bound filter form and its scope; invalid filters give the default scope and
    a 400 status so the page shows the form errors."""
    filters = DashboardFilterForm(request.GET or None)
    if filters.is_bound and not filters.is_valid():
        return filters, DashboardFilterForm().scope(), 400
    return filters, filters.scope(), 200


def _csv_or_none(request, tables: dict, status: int):
    """The requested table as CSV when ``?format=csv``; None otherwise."""
    if request.GET.get("format") != "csv":
        return None
    if status != 200:
        return HttpResponseBadRequest("Fix the filters before exporting.")
    name = request.GET.get("table", "")
    if name not in tables:
        return HttpResponseBadRequest(f"Unknown table; one of: {', '.join(sorted(tables))}.")
    header, rows = tables[name]()
    return exports.csv_response(f"focusloop-{name}", header, rows)


@permission_required("feedback.view_insights")
def dashboard(request):
    filters, scope, status = _filters(request)
    data = dashboard_data.cached_overview(scope)
    export = _csv_or_none(
        request,
        {
            "kpis": lambda: dashboard_data.tiles_table(data["tiles"]),
            "channels": lambda: dashboard_data.breakdown_table(data["channels"], "channel"),
            "customer_kinds": lambda: dashboard_data.breakdown_table(
                data["customer_kinds"], "customer_kind"
            ),
            "series": lambda: dashboard_data.series_table(data["series"]),
        },
        status,
    )
    if export is not None:
        return export
    return render(
        request,
        "insights/dashboard.html",
        {
            "filters": filters,
            "scope": scope,
            "query": urlencode(scope.query()),
            "trends_query": trends.trends_query(scope),
            "pending": selectors.pending_analysis_count(),
            **data,
        },
        status=status,
    )


@permission_required("feedback.view_insights")
def rankings(request):
    filters, scope, status = _filters(request)
    rank_by = request.GET.get("rank", "negative_share")
    if rank_by not in dashboard_data.BREAKDOWN_METRICS or rank_by == "volume":
        rank_by, status = "negative_share", 400 if "rank" in request.GET else status
    products, segments = dashboard_data.rankings(scope, rank_by)
    export = _csv_or_none(
        request,
        {
            "products": lambda: dashboard_data.breakdown_table(products, "product"),
            "segments": lambda: dashboard_data.breakdown_table(segments, "segment"),
        },
        status,
    )
    if export is not None:
        return export
    return render(
        request,
        "insights/rankings.html",
        {
            "filters": filters,
            "scope": scope,
            "query": urlencode(scope.query()),
            "rank_by": rank_by,
            "rank_label": dashboard_data.LABELS[rank_by],
            "rank_choices": [
                (m, dashboard_data.LABELS[m])
                for m in dashboard_data.BREAKDOWN_METRICS
                if m != "volume"
            ],
            "products": products,
            "segments": segments,
            "min_group_size": dashboard_data.min_group_size(),
            "confidence": round((1 - settings.INSIGHTS_SIGNIFICANCE_ALPHA) * 100),
        },
        status=status,
    )


@permission_required("feedback.view_insights")
def sentiment_models(request):
    return render(
        request,
        "insights/sentiment_models.html",
        {
            "models": selectors.sentiment_models(),
            "labelled": selectors.labelled_feedback_counts(),
            "can_switch": request.user.has_perm(SWITCH_SENTIMENT_MODEL),
            "training": selectors.analysis_runs(kind=AnalysisRun.Kind.RETRAIN, limit=1).first(),
        },
    )


@permission_required(SWITCH_SENTIMENT_MODEL)
@require_POST
def activate_sentiment_model(request, version: int):
    model = get_object_or_404(SentimentModel, version=version)
    try:
        model_training.activate_sentiment_model(model=model, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Model v{model.version} is active. Feedback scored by other models is re-scored "
            "in the background.",
        )
    return redirect("insights:sentiment_models")


@permission_required(SWITCH_SENTIMENT_MODEL)
@require_POST
def retrain_sentiment_model(request):
    try:
        runs.request_run(kind=AnalysisRun.Kind.RETRAIN)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            "Retraining queued. The new model becomes active only if it scores better than "
            "the active one; follow it on the analysis runs page.",
        )
    return redirect("insights:sentiment_models")


@permission_required("feedback.triage_feedback")
@require_POST
def correct_sentiment(request, pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    try:
        model_training.correct_sentiment(
            feedback=feedback, label=request.POST.get("label", ""), by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Sentiment corrected. The next model learns from it.")
    return redirect("feedback:detail", pk=feedback.pk)
