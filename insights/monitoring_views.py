"""Monitoring pages: alerts, alert rules and follow-up owners, analysis runs, forecasts."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors, focus_first_error

from . import alerts, selectors
from .models import Alert, AlertRule, AnalysisRun, Forecast
from .monitoring_forms import AlertFilterForm, AlertRuleForm, ProductOwnerForm, ResolveAlertForm
from .runs import ON_DEMAND_TASKS, request_run


@permission_required("insights.view_alerts")
@require_GET
def alert_list(request):
    form = AlertFilterForm(request.GET or None)
    status = "unresolved"
    if form.is_valid() and form.cleaned_data["status"]:
        status = form.cleaned_data["status"]
    page = Paginator(selectors.alerts_for_page(status=status), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "insights/alert_list.html",
        {"page": page, "alerts": page.object_list, "filter_form": form, "status": status},
    )


@permission_required("insights.view_alerts")
@require_GET
def alert_count(request):
    """JSON for the navigation's badge: how many alerts nobody has looked at yet."""
    response = JsonResponse({"open": selectors.open_alert_count()})
    response["Cache-Control"] = "no-store"
    return response


def _back_to_alerts(request):
    """Back to the list and page the alert was acted on from."""
    query = {}
    status = request.POST.get("status", "")
    if status in {"unresolved", "all", *Alert.Status.values}:
        query["status"] = status
    page = request.POST.get("page", "")
    if page.isascii() and page.isdigit() and page != "1":
        query["page"] = page
    url = redirect("insights:alerts").url
    return redirect(f"{url}?{urlencode(query)}" if query else url)


@permission_required("insights.view_alerts")
@require_POST
def alert_acknowledge(request, pk: int):
    alert = get_object_or_404(Alert, pk=pk)
    try:
        alerts.acknowledge_alert(alert=alert, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Acknowledged: {alert.title}")
    return _back_to_alerts(request)


@permission_required("insights.view_alerts")
@require_POST
def alert_resolve(request, pk: int):
    alert = get_object_or_404(Alert, pk=pk)
    form = ResolveAlertForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note can be at most 300 characters.")
        return _back_to_alerts(request)
    try:
        alerts.resolve_alert(alert=alert, by=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Resolved: {alert.title}")
    return _back_to_alerts(request)


def _rule_page(request, owner_form, *, status: int = 200):
    return render(
        request,
        "insights/rule_list.html",
        {
            "rules": selectors.alert_rules(),
            "owners": selectors.product_owners(),
            "owner_form": owner_form,
            "alpha": settings.INSIGHTS_SIGNIFICANCE_ALPHA,
        },
        status=status,
    )


@permission_required("insights.manage_alerts")
@require_GET
def rule_list(request):
    return _rule_page(request, ProductOwnerForm())


@permission_required("insights.manage_alerts")
def rule_edit(request, pk: int | None = None):
    rule = get_object_or_404(AlertRule, pk=pk) if pk else None
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            saved = alerts.save_alert_rule(
                rule=rule,
                by=request.user,
                data=form.rule_data(),
                notify_users=form.cleaned_data["notify_users"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Rule “{saved.name}” saved.")
            return redirect("insights:alert_rules")
    status = 400 if request.method == "POST" else 200
    focus_first_error(form)
    return render(request, "insights/rule_form.html", {"form": form, "rule": rule}, status=status)


@permission_required("insights.manage_alerts")
@require_POST
def product_owner_set(request):
    form = ProductOwnerForm(request.POST)
    if form.is_valid():
        product, owner = form.cleaned_data["product"], form.cleaned_data["owner"]
        try:
            alerts.set_product_owner(product=product, owner=owner)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            who = owner.get_username() if owner else "nobody"
            messages.success(request, f"Detractor comments on {product} now go to {who}.")
        return redirect("insights:alert_rules")
    focus_first_error(form)
    return _rule_page(request, form, status=400)


def _run_json(run: AnalysisRun) -> dict:
    return {
        "id": run.pk,
        "kind": run.kind,
        "kind_display": run.get_kind_display(),
        "status": run.status,
        "status_display": run.get_status_display(),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "rows": run.rows,
        "done": run.done,
        "total": run.total,
        "percent": run.percent,
        "error": run.error,
    }


def _run_kind(request) -> str:
    kind = request.GET.get("kind", "")
    return kind if kind in AnalysisRun.Kind.values else ""


@permission_required("feedback.view_insights")
@require_GET
def run_list(request):
    kind = _run_kind(request)
    runs = list(selectors.analysis_runs(kind=kind, limit=100))
    queued, queued_after = _awaited_run(request, runs)
    return render(
        request,
        "insights/run_list.html",
        {
            "runs": runs,
            "kind": kind,
            "kinds": AnalysisRun.Kind.choices,
            "any_running": any(r.status == AnalysisRun.Status.RUNNING for r in runs),
            "queued": queued,
            "queued_after": queued_after,
            "on_demand": [
                (value, label)
                for value, label in AnalysisRun.Kind.choices
                if value in ON_DEMAND_TASKS and value != AnalysisRun.Kind.RETRAIN
            ],
            "can_start": request.user.has_perm(START_ANALYSIS),
        },
    )


def _awaited_run(request, runs) -> tuple[str, int]:
    """The kind of run "Run now" just queued and the newest run of that kind before it,
    while the page does not list a newer one yet (the worker has not started it)."""
    kind, after = request.GET.get("queued", ""), request.GET.get("after", "")
    if kind not in ON_DEMAND_TASKS or not (after.isascii() and after.isdigit()):
        return "", 0
    if any(run.kind == kind and run.pk > int(after) for run in runs):
        return "", 0
    return kind, int(after)


# Starting analysis by hand is a change to the analysis, like curating themes or
# switching the sentiment model: the managers' change permission.
START_ANALYSIS = "insights.change_theme"


@permission_required(START_ANALYSIS)
@require_POST
def run_now(request):
    kind = request.POST.get("kind", "")
    latest = selectors.analysis_runs(kind=kind, limit=1).first()
    try:
        request_run(kind=kind)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        label = AnalysisRun.Kind(kind).label
        messages.success(request, f"{label} queued; it appears below once a worker starts it.")
        query = {"queued": kind, "after": latest.pk if latest else 0}
        return redirect(f"{reverse('insights:runs')}?{urlencode(query)}")
    return redirect("insights:runs")


@permission_required("feedback.view_insights")
@require_GET
def run_status(request):
    """JSON for the runs page's progress bars: the latest runs (of one kind with ?kind=)."""
    runs = selectors.analysis_runs(kind=_run_kind(request), limit=100)
    return JsonResponse({"runs": [_run_json(run) for run in runs]})


def _forecast_name(forecast: Forecast) -> str:
    """What the series is about, for the picker: the product, the theme or "Overall"."""
    return str(forecast.product or forecast.theme or "Overall")


def _forecast_label(forecast: Forecast) -> str:
    """The same, for a heading after the metric: "App", "theme “Checkout”", "overall"."""
    if forecast.product_id:
        return str(forecast.product)
    if forecast.theme_id:
        return f"theme “{forecast.theme}”"
    return "overall"


def _forecast_chart(forecast: Forecast) -> dict:
    """One series for the forecasts chart: its history, forecast and prediction band.
    Volumes are counts, so they are shown as whole numbers."""
    digits = 0 if forecast.metric == Forecast.Metric.VOLUME else 3

    def rounded(value):
        return None if value is None else round(value, digits)

    return {
        "key": f"{forecast.metric}:{forecast.scope_key}",
        "metric": forecast.metric,
        "metric_display": forecast.get_metric_display(),
        "scope": forecast.scope,
        "label": _forecast_name(forecast),
        "interval": round(forecast.interval * 100),
        "history": [
            {"week": point["week"], "value": rounded(point["value"])} for point in forecast.history
        ],
        "forecast": [
            {
                "week": point["week"],
                "value": rounded(point["value"]),
                "lower": rounded(point.get("lower")),
                "upper": rounded(point.get("upper")),
            }
            for point in forecast.points
        ],
    }


@permission_required("feedback.view_insights")
@require_GET
def forecast_list(request):
    forecasts = list(selectors.forecasts())
    for forecast in forecasts:
        forecast.label = _forecast_label(forecast)
        forecast.name = _forecast_name(forecast)
        forecast.key = f"{forecast.metric}:{forecast.scope_key}"
    return render(
        request,
        "insights/forecast_list.html",
        {
            "forecasts": forecasts,
            "metrics": Forecast.Metric.choices,
            "scopes": Forecast.Scope.choices,
            "chart_data": [_forecast_chart(forecast) for forecast in forecasts],
        },
    )


@permission_required("feedback.view_insights")
@require_GET
def trends(request):
    from feedback.models import Product

    from . import trends as trend_stats

    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    days = days if days in trend_stats.TREND_PERIODS else 30
    # Every product, active ones first: an inactive one keeps its history (as on the
    # dashboard, whose link brings its product here).
    products = list(Product.objects.order_by("-active", "name"))
    slug = request.GET.get("product", "")
    product = next((p for p in products if p.slug == slug), None)
    if slug and product is None:
        return render(
            request,
            "insights/trends.html",
            {"days": days, "products": products, "error": "Select a valid product."},
            status=400,
        )
    product_id = product.pk if product else None
    charts = trend_stats.control_charts(weeks=26, product_id=product_id)
    return render(
        request,
        "insights/trends.html",
        {
            "days": days,
            "products": products,
            "product": product,
            "comparison": trend_stats.period_comparison(days=days, product_id=product_id),
            "charts": charts,
            "chart_data": {name: chart.as_dict() for name, chart in charts.items()},
        },
    )
