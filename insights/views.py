import datetime as dt
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from feedback.selectors import get_feedback_for_user

from . import model_training, selectors, trends
from .forms import DashboardFilterForm
from .models import SentimentModel


@permission_required("feedback.view_insights")
def dashboard(request):
    filters = DashboardFilterForm(request.GET or None)
    if filters.is_bound and not filters.is_valid():
        status, days, product = 400, 30, None
    else:
        status = 200
        days = filters.cleaned_data["days"] if filters.is_bound else 30
        product = filters.cleaned_data["product"] if filters.is_bound else None
    comparison = trends.period_comparison(days=days, product_id=product.pk if product else None)
    start, last_day = comparison["current_window"]
    scope = {
        "received_from": start.isoformat(),
        "received_to": (last_day + dt.timedelta(days=1)).isoformat(),
    }
    if product:
        scope["product"] = product.slug
    inbox = f"{reverse('feedback:inbox')}?{urlencode(scope)}"
    drill_downs = {"volume": inbox, "negative_share": f"{inbox}&sentiment=negative"}
    for row in comparison["rows"]:
        row["drill_down"] = drill_downs.get(row["metric"], "")
    return render(
        request,
        "insights/dashboard.html",
        {
            "filters": filters,
            "days": days,
            "product": product,
            "comparison": comparison,
            "confidence": round((1 - comparison["alpha"]) * 100),
            "series": selectors.weekly_series(weeks=52),
            "pending": selectors.pending_analysis_count(),
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
        },
    )


@permission_required("feedback.view_insights")
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
