"""Segment pages: staff read segments (customization.view_segment); managers define rule
segments and decide on suggestions (customization.manage_segments)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors

from . import segment_rules, segment_services, selectors
from .forms import RenameSegmentForm, RuleFormSet, SegmentForm, rule_initial
from .models import Segment

VIEW = "customization.view_segment"
MANAGE = "customization.manage_segments"
MEMBERS_PAGE_SIZE = 50
TABS = {
    "active": Segment.Status.ACTIVE,
    "suggested": Segment.Status.SUGGESTED,
    "discarded": Segment.Status.DISCARDED,
}


@permission_required(VIEW)
def segment_list(request):
    tab = request.GET.get("show", "active")
    if tab not in TABS:
        tab = "active"
    return render(
        request,
        "customization/segment_list.html",
        {
            "segments": selectors.segment_list(status=TABS[tab]),
            "tab": tab,
            "can_manage": request.user.has_perm(MANAGE),
        },
    )


@permission_required(VIEW)
def segment_detail(request, pk: int):
    segment = selectors.get_segment_for_user(request.user, pk)
    members = Paginator(selectors.segment_members(segment), MEMBERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "customization/segment_detail.html",
        {
            "segment": segment,
            "page": members,
            "rules": [segment_rules.describe_rule(rule) for rule in segment.rules],
            "requests": selectors.request_list().filter(segment=segment)[:50],
            "can_manage": request.user.has_perm(MANAGE),
            "rename_form": RenameSegmentForm(initial={"name": segment.name}),
        },
    )


def _rules_from(formset) -> list[dict]:
    return [form.as_rule() for form in formset.forms if not form.is_blank()]


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def segment_edit(request, pk: int | None = None):
    """Define a rule segment, or change a segment's name, description and rules."""
    segment = selectors.get_segment_for_user(request.user, pk, MANAGE) if pk else None
    has_rules = segment is None or segment.kind == Segment.Kind.RULE
    if request.method == "POST":
        form = SegmentForm(request.POST)
        formset = RuleFormSet(request.POST, prefix="rules")
        if form.is_valid() and (not has_rules or formset.is_valid()):
            rules = _rules_from(formset) if has_rules else None
            try:
                if segment is None:
                    segment = segment_services.create_rule_segment(
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        rules=rules,
                        created_by=request.user,
                    )
                else:
                    segment_services.update_segment(
                        segment=segment,
                        name=form.cleaned_data["name"],
                        description=form.cleaned_data["description"],
                        rules=rules,
                    )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Segment saved: {segment.name}.")
                return redirect("customization:segment_detail", pk=segment.pk)
        status = 400
    else:
        initial = {"name": segment.name, "description": segment.description} if segment else {}
        form = SegmentForm(initial=initial)
        formset = RuleFormSet(
            prefix="rules", initial=rule_initial(segment.rules) if segment else []
        )
        status = 200
    return render(
        request,
        "customization/segment_form.html",
        {"form": form, "formset": formset, "segment": segment, "has_rules": has_rules},
        status=status,
    )


@permission_required(MANAGE)
@require_POST
def segment_refresh(request, pk: int):
    segment = selectors.get_segment_for_user(request.user, pk, MANAGE)
    try:
        count = segment_services.refresh_segment_membership(segment=segment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Membership refreshed: {count} customers.")
    return redirect("customization:segment_detail", pk=segment.pk)


def _suggestion(request, pk: int) -> Segment | None:
    """The segment ``pk``, or None with a message when it is gone: a pending suggestion
    is replaced by the next clustering run while its page may still be open."""
    try:
        return selectors.get_segment_for_user(request.user, pk, MANAGE)
    except Http404:
        messages.error(
            request,
            "This suggestion no longer exists: a newer clustering run replaced it. "
            "Here are the current suggestions.",
        )
        return None


@permission_required(MANAGE)
@require_POST
def segment_accept(request, pk: int):
    segment = _suggestion(request, pk)
    if segment is None:
        return redirect(f"{_list_url()}?show=suggested")
    form = RenameSegmentForm(request.POST)
    form.is_valid()
    try:
        segment_services.accept_suggestion(
            segment=segment, name=form.cleaned_data.get("name") or None
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Suggestion accepted: the segment is now active.")
    return redirect("customization:segment_detail", pk=segment.pk)


@permission_required(MANAGE)
@require_POST
def segment_rename(request, pk: int):
    segment = selectors.get_segment_for_user(request.user, pk, MANAGE)
    form = RenameSegmentForm(request.POST)
    if form.is_valid() and form.cleaned_data["name"]:
        try:
            segment_services.update_segment(segment=segment, name=form.cleaned_data["name"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Segment renamed.")
    else:
        messages.error(request, "Give the new name.")
    return redirect("customization:segment_detail", pk=segment.pk)


@permission_required(MANAGE)
@require_POST
def segment_discard(request, pk: int):
    segment = _suggestion(request, pk)
    if segment is None:
        return redirect(f"{_list_url()}?show=suggested")
    try:
        segment_services.discard_suggestion(segment=segment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customization:segment_detail", pk=segment.pk)
    messages.success(request, f"Suggestion “{segment.name}” discarded.")
    return redirect(f"{_list_url()}?show=suggested")


@permission_required(MANAGE)
@require_POST
def segments_suggest(request):
    segment_services.request_segment_suggestions()
    messages.success(
        request,
        "Clustering started. New suggestions replace the pending ones; accepted and "
        "discarded segments are kept.",
    )
    return redirect(f"{_list_url()}?show=suggested")


def _list_url() -> str:
    from django.urls import reverse

    return reverse("customization:segments")
