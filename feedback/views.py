from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from accounts.decorators import permission_required

from . import services
from .filters import FeedbackFilter
from .forms import CONSENT_TEXT, PublicFeedbackForm, TriageForm
from .models import Feedback
from .selectors import feedback_list, get_feedback_for_user

INBOX_PAGE_SIZE = 25


def _form_rate(group, request):
    return settings.FEEDBACK_FORM_RATE


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_form_rate, method="POST", block=False)
def public_feedback(request):
    if request.method == "POST":
        form = PublicFeedbackForm(request.POST)
        if getattr(request, "limited", False):
            form.is_valid()
            return render(
                request,
                "feedback/public_form.html",
                {"form": form, "rate_limited": True},
                status=429,
            )
        if form.is_bot:
            return redirect("feedback:thanks")
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_feedback(
                    channel=Feedback.Channel.FORM,
                    source="web form",
                    text=data["text"],
                    rating=data["rating"],
                    rating_min=1 if data["rating"] is not None else None,
                    rating_max=5 if data["rating"] is not None else None,
                    product=data["product"],
                    submitter_name=data["name"] if data["consent"] else "",
                    submitter_email=data["email"] if data["consent"] else "",
                    consent=data["consent"],
                    consent_text=CONSENT_TEXT,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                return redirect("feedback:thanks")
        return render(request, "feedback/public_form.html", {"form": form}, status=400)
    return render(request, "feedback/public_form.html", {"form": PublicFeedbackForm()})


def thanks(request):
    return render(request, "feedback/thanks.html")


@permission_required("feedback.triage_feedback")
def inbox(request):
    feedback_filter = FeedbackFilter(request.GET, queryset=feedback_list())
    paginator = Paginator(feedback_filter.qs, INBOX_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/inbox.html",
        {"filter": feedback_filter, "page": page, "query": query.urlencode()},
    )


@permission_required("feedback.triage_feedback")
@require_http_methods(["GET", "POST"])
def feedback_detail(request, pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    initial = {
        "status": feedback.status,
        "assignee": feedback.assignee,
        "tags": ", ".join(t.name for t in feedback.tags.all()),
    }
    if request.method == "POST":
        form = TriageForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                services.update_feedback_triage(
                    feedback=feedback,
                    status=form.cleaned_data["status"],
                    assignee=form.cleaned_data["assignee"],
                    tags=form.cleaned_data["tags"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Feedback updated.")
                return redirect("feedback:detail", pk=feedback.pk)
    else:
        form = TriageForm(initial=initial)
    return render(
        request,
        "feedback/detail.html",
        {"feedback": feedback, "form": form, "sentiment_choices": Feedback.Sentiment.choices},
    )
