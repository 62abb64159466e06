from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import add_service_errors
from accounts.rate_limits import limit_posts_per_ip

from . import services
from .forms import PublicFeedbackForm, consent_text
from .models import Feedback


@require_http_methods(["GET", "POST"])
@limit_posts_per_ip("FEEDBACK_FORM_RATE")
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
                    consent_text=consent_text(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("feedback:thanks")
        return render(request, "feedback/public_form.html", {"form": form}, status=400)
    return render(request, "feedback/public_form.html", {"form": PublicFeedbackForm()})


def thanks(request):
    return render(request, "feedback/thanks.html")
