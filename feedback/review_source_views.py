"""The review sources page: status of every feed, the source form and "poll now"."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required

from . import review_sources as services
from .channel_forms import ReviewSourceForm
from .selectors import get_review_source_for_user, review_source_list

VIEW = "feedback.view_reviewsource"
ADD = "feedback.add_reviewsource"
CHANGE = "feedback.change_reviewsource"


@permission_required(VIEW)
def review_sources(request):
    return render(
        request,
        "feedback/review_source_list.html",
        {
            "sources": review_source_list(),
            "can_add": request.user.has_perm(ADD),
            "can_change": request.user.has_perm(CHANGE),
        },
    )


def _values(form) -> dict:
    return {name: form.cleaned_data[name] for name in form.Meta.fields}


@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def review_source_create(request):
    status = 200
    if request.method == "POST":
        form = ReviewSourceForm(request.POST)
        if form.is_valid():
            try:
                source = services.save_review_source(**_values(form))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                services.request_poll(source=source)
                messages.success(
                    request, f"Source “{source.name}” added; its first poll is queued."
                )
                return redirect("feedback:review_sources")
        status = 400
    else:
        form = ReviewSourceForm()
    return render(
        request, "feedback/review_source_form.html", {"form": form, "source": None}, status=status
    )


@permission_required(CHANGE)
@require_http_methods(["GET", "POST"])
def review_source_edit(request, pk: int):
    source = get_review_source_for_user(request.user, pk, CHANGE)
    status = 200
    if request.method == "POST":
        # The service writes; the ModelForm only validates (on a copy of the row).
        form = ReviewSourceForm(request.POST, instance=type(source).objects.get(pk=source.pk))
        if form.is_valid():
            try:
                services.save_review_source(source=source, **_values(form))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Source “{source.name}” saved.")
                return redirect("feedback:review_sources")
        status = 400
    else:
        form = ReviewSourceForm(instance=source)
    return render(
        request, "feedback/review_source_form.html", {"form": form, "source": source}, status=status
    )


@permission_required(CHANGE)
@require_POST
def review_source_poll(request, pk: int):
    source = get_review_source_for_user(request.user, pk, CHANGE)
    services.request_poll(source=source)
    messages.success(request, f"Poll of “{source.name}” queued; refresh in a moment.")
    return redirect("feedback:review_sources")
