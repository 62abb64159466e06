"""Focus group pages: the list, the session form and the session page for fast entry."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required

from . import focus_groups as services
from .channel_forms import FocusGroupEntryForm, FocusGroupForm
from .models import FocusGroupEntry
from .research import research_consent_warning
from .selectors import focus_group_entries, focus_group_list, get_focus_group_for_user

PAGE_SIZE = 25
VIEW = "feedback.view_focusgroup"
ADD = "feedback.add_focusgroup"
CHANGE = "feedback.change_focusgroup"


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@permission_required(VIEW)
def focus_groups(request):
    page = Paginator(focus_group_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "feedback/focus_group_list.html", {"page": page})


def _session_values(data) -> dict:
    return {name: data[name] for name in services.SESSION_FIELDS}


def _warn_about_consent(request, customers) -> None:
    warning = research_consent_warning(customers)
    if warning:
        messages.warning(request, warning)


@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def focus_group_create(request):
    status = 200
    if request.method == "POST":
        form = FocusGroupForm(request.POST)
        if form.is_valid():
            try:
                focus_group = services.save_focus_group(
                    participants=form.cleaned_data["participants"],
                    **_session_values(form.cleaned_data),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Session created. Add findings as they come.")
                _warn_about_consent(request, form.cleaned_data["participants"])
                return redirect("feedback:focus_group_detail", pk=focus_group.pk)
        status = 400
    else:
        form = FocusGroupForm(initial={"moderator": request.user.pk})
    return render(
        request,
        "feedback/focus_group_form.html",
        {"form": form, "focus_group": None},
        status=status,
    )


@permission_required(CHANGE)
@require_http_methods(["GET", "POST"])
def focus_group_edit(request, pk: int):
    focus_group = get_focus_group_for_user(request.user, pk)
    status = 200
    if request.method == "POST":
        form = FocusGroupForm(request.POST)
        if form.is_valid():
            try:
                services.save_focus_group(
                    focus_group=focus_group,
                    participants=form.cleaned_data["participants"],
                    **_session_values(form.cleaned_data),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Session saved.")
                _warn_about_consent(request, form.cleaned_data["participants"])
                return redirect("feedback:focus_group_detail", pk=focus_group.pk)
        status = 400
    else:
        form = FocusGroupForm(
            initial={
                **{name: getattr(focus_group, name) for name in services.SESSION_FIELDS},
                "moderator": focus_group.moderator_id,
                "product": focus_group.product_id,
                "participants": list(focus_group.participants.all()),
            }
        )
    return render(
        request,
        "feedback/focus_group_form.html",
        {"form": form, "focus_group": focus_group},
        status=status,
    )


def _render_session(request, focus_group, form, status=200):
    return render(
        request,
        "feedback/focus_group_detail.html",
        {
            "focus_group": focus_group,
            "entries": focus_group_entries(focus_group),
            "form": form,
            "can_change": request.user.has_perm(CHANGE),
        },
        status=status,
    )


@permission_required(VIEW)
def focus_group_detail(request, pk: int):
    focus_group = get_focus_group_for_user(request.user, pk)
    return _render_session(request, focus_group, FocusGroupEntryForm(focus_group=focus_group))


@permission_required(CHANGE)
@require_POST
def focus_group_entry_add(request, pk: int):
    """Add a finding; the page's script posts here and inserts the returned row."""
    focus_group = get_focus_group_for_user(request.user, pk)
    form = FocusGroupEntryForm(request.POST, focus_group=focus_group)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = services.add_focus_group_entry(
                focus_group=focus_group,
                text=data["text"],
                kind=data["kind"],
                participant=data["participant"],
                tags=data["tags"],
                author=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if _wants_json(request):
                entry = focus_group_entries(focus_group).get(pk=entry.pk)
                row = render_to_string(
                    "feedback/_focus_group_entry.html",
                    {"entry": entry, "focus_group": focus_group, "can_change": True},
                    request=request,
                )
                # The first entry marks a planned session held: the page shows the new status.
                return JsonResponse(
                    {
                        "id": entry.pk,
                        "feedback_id": entry.feedback_id,
                        "html": row,
                        "session_status": focus_group.status,
                        "session_status_display": focus_group.get_status_display(),
                    },
                    status=201,
                )
            messages.success(request, "Added.")
            return redirect(
                f"{reverse('feedback:focus_group_detail', args=[focus_group.pk])}#entry-form"
            )
    if _wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return _render_session(request, focus_group, form, status=400)


@permission_required(CHANGE)
@require_POST
def focus_group_entry_delete(request, pk: int, entry_pk: int):
    focus_group = get_focus_group_for_user(request.user, pk)
    entry = get_object_or_404(FocusGroupEntry, pk=entry_pk, focus_group=focus_group)
    services.delete_focus_group_entry(entry=entry)
    messages.success(request, "Entry removed.")
    return redirect("feedback:focus_group_detail", pk=focus_group.pk)
