"""Customization request pages and customer preferences.

Staff read the backlog and bring feedback to it (view/add_customizationrequest); managers
edit, move requests through the workflow and promote them (manage_customizations).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors
from feedback.models import Customer
from feedback.selectors import get_feedback_for_user
from innovation.forms import whole_number
from innovation.loop import LOOP_MESSAGES_SHOWN, loop_messages_for
from insights.models import Theme

from . import selectors, services
from .forms import (
    EvidenceForm,
    PreferenceForm,
    PromoteForm,
    RequestFilterForm,
    RequestForm,
    StatusForm,
    ThemeRequestForm,
)
from .models import CustomerPreference

VIEW = "customization.view_customizationrequest"
ADD = "customization.add_customizationrequest"
MANAGE = "customization.manage_customizations"
PAGE_SIZE = 50


def filtered_requests(form: RequestFilterForm):
    requests = selectors.request_list()
    if not form.is_valid():
        return requests.order_by("-created_at", "-id")
    data = form.cleaned_data
    for name in ("status", "product", "owner", "segment"):
        if data.get(name):
            requests = requests.filter(**{name: data[name]})
    if data.get("customer"):
        requests = requests.filter(customer_id=data["customer"])
    sort = data.get("sort") or "-created_at"
    if sort == "due_date":
        from django.db.models import F

        return requests.order_by(F("due_date").asc(nulls_last=True), "-id")
    return requests.order_by(sort, "-id")


@permission_required(VIEW)
def request_list(request):
    form = RequestFilterForm(request.GET or None)
    page = Paginator(filtered_requests(form), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customization/request_list.html",
        {
            "filter_form": form,
            "page": page,
            "query": query.urlencode(),
            "proposals": selectors.promotion_proposals(),
            "can_manage": request.user.has_perm(MANAGE),
            "can_add": request.user.has_perm(ADD),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def _detail(request, obj, *, status: int = 200, **forms):
    return render(
        request,
        "customization/request_detail.html",
        {
            "req": obj,
            "history": selectors.request_history(obj),
            "evidence": selectors.request_evidence(obj),
            "loop_messages": loop_messages_for(customization_request=obj)[:LOOP_MESSAGES_SHOWN],
            "loop_messages_total": obj.loop_messages.count(),
            "transitions": [
                (value, services.Status(value).label) for value in services.allowed_transitions(obj)
            ],
            "status_form": forms.get("status_form") or StatusForm(),
            "evidence_form": forms.get("evidence_form") or EvidenceForm(),
            "can_manage": request.user.has_perm(MANAGE),
            "can_add": request.user.has_perm(ADD),
        },
        status=status,
    )


@permission_required(VIEW)
def request_detail(request, pk: int):
    return _detail(request, selectors.get_request_for_user(request.user, pk))


def _save_request(request, form, obj=None):
    data = form.cleaned_data
    fields = {name: data[name] for name in services.EDITABLE}
    if obj is None:
        return services.create_customization_request(**fields, requested_by=request.user)
    return services.update_customization_request(request=obj, **fields)


@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def request_edit(request, pk: int | None = None):
    """Open a request (staff and managers) or edit one (managers)."""
    obj = selectors.get_request_for_user(request.user, pk, MANAGE) if pk else None
    if request.method == "POST":
        form = RequestForm(request.POST, current=obj)
        if form.is_valid():
            try:
                obj = _save_request(request, form, obj)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Customization request saved.")
                return redirect("customization:request_detail", pk=obj.pk)
        status = 400
    else:
        initial = {}
        if obj is not None:
            initial = {name: getattr(obj, name) for name in services.EDITABLE}
        else:
            for name in ("customer", "segment"):
                value = whole_number(request.GET.get(name, ""))
                if value is not None:
                    initial[name] = value
        form = RequestForm(initial=initial, current=obj)
        status = 200
    return render(
        request, "customization/request_form.html", {"form": form, "req": obj}, status=status
    )


@permission_required(MANAGE)
@require_POST
def request_status(request, pk: int):
    obj = selectors.get_request_for_user(request.user, pk, MANAGE)
    form = StatusForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.change_request_status(
                request=obj,
                to_status=data["status"],
                changed_by=request.user,
                note=data["note"],
                delivery_note=data["delivery_note"] or None,
            )
        except ValidationError as exc:
            obj = selectors.get_request_for_user(request.user, pk, MANAGE)
            if obj.status == data["status"]:
                # A double submit, or someone made the same move meanwhile: nothing to undo.
                messages.info(
                    request, f"This request is already {obj.get_status_display().lower()}."
                )
                return redirect("customization:request_detail", pk=obj.pk)
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Moved to {services.Status(data['status']).label.lower()}.")
            return redirect("customization:request_detail", pk=obj.pk)
    return _detail(request, obj, status=400, status_form=form)


@permission_required(ADD)
@require_POST
def request_evidence_add(request, pk: int):
    obj = selectors.get_request_for_user(request.user, pk)
    form = EvidenceForm(request.POST)
    if form.is_valid():
        feedback_pk = form.cleaned_data["feedback"]
        try:
            added = services.add_evidence(
                request=obj, feedback_ids=[feedback_pk], added_by=request.user
            )
        except ValidationError as exc:
            form.add_error("feedback", exc.messages)
        else:
            if added:
                messages.success(request, "Evidence linked.")
            else:
                messages.info(request, f"Feedback #{feedback_pk} is already linked as evidence.")
            return redirect("customization:request_detail", pk=obj.pk)
    return _detail(request, obj, status=400, evidence_form=form)


@permission_required(MANAGE)
@require_POST
def request_evidence_remove(request, pk: int, feedback_pk: int):
    obj = selectors.get_request_for_user(request.user, pk, MANAGE)
    if services.remove_evidence(request=obj, feedback_ids=[feedback_pk]):
        messages.success(request, "Evidence unlinked.")
    else:
        messages.info(request, f"Feedback #{feedback_pk} was no longer linked as evidence.")
    return redirect("customization:request_detail", pk=obj.pk)


@permission_required(ADD)
@require_POST
def request_from_feedback(request, feedback_pk: int):
    feedback = get_feedback_for_user(request.user, feedback_pk)
    try:
        obj, created = services.create_request_from_feedback(
            feedback=feedback, requested_by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("feedback:detail", pk=feedback.pk)
    if created:
        messages.success(request, "Customization request created with this feedback as evidence.")
    else:
        messages.info(request, "This feedback's customization request is already open: here it is.")
    return redirect("customization:request_detail", pk=obj.pk)


@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def request_from_theme(request, theme_pk: int):
    if not request.user.has_perm("feedback.view_insights"):
        raise PermissionDenied
    theme = get_object_or_404(Theme, pk=theme_pk)
    form = ThemeRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                obj = services.create_request_from_theme(
                    theme=theme,
                    segment=form.cleaned_data["segment"],
                    title=form.cleaned_data["title"],
                    requested_by=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Customization request created from the theme.")
                return redirect("customization:request_detail", pk=obj.pk)
        status = 400
    return render(
        request,
        "customization/theme_request_form.html",
        {"form": form, "theme": theme, "requests": selectors.requests_for_theme(theme)[:50]},
        status=status,
    )


@permission_required(MANAGE)
@require_POST
def requests_promote(request):
    form = PromoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a proposed group to promote.")
        return redirect("customization:requests")
    try:
        idea = services.promote_requests(
            request_ids=form.cleaned_data["requests"], promoted_by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("customization:requests")
    messages.success(request, f"Promoted to the innovation idea “{idea.title}”.")
    return redirect("customization:requests")


# --- customer preferences -------------------------------------------------------------------


def _back_to_customer(customer_pk: int):
    from django.urls import reverse

    return redirect(reverse("feedback:customer_detail", args=[customer_pk]) + "#preferences")


@permission_required("customization.add_customerpreference")
@require_POST
def preference_add(request, customer_pk: int):
    customer = get_object_or_404(Customer, pk=customer_pk)
    form = PreferenceForm(request.POST)
    if form.is_valid():
        try:
            services.set_customer_preference(
                customer=customer, recorded_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Preference saved.")
    else:
        messages.error(
            request,
            "Preference not saved: "
            + " ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()),
        )
    return _back_to_customer(customer.pk)


@permission_required("customization.change_customerpreference")
@require_http_methods(["GET", "POST"])
def preference_edit(request, pk: int):
    preference = get_object_or_404(CustomerPreference.objects.select_related("customer"), pk=pk)
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            try:
                services.update_customer_preference(
                    preference=preference, recorded_by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Preference saved.")
                return _back_to_customer(preference.customer_id)
        status = 400
    else:
        form = PreferenceForm(
            initial={
                "key": preference.key,
                "value": preference.value,
                "source": preference.source,
                "stated_on": preference.stated_on,
            }
        )
        status = 200
    return render(
        request,
        "customization/preference_form.html",
        {"form": form, "preference": preference},
        status=status,
    )


@permission_required("customization.delete_customerpreference")
@require_POST
def preference_delete(request, pk: int):
    preference = get_object_or_404(CustomerPreference, pk=pk)
    customer_pk = preference.customer_id
    services.delete_customer_preference(preference=preference)
    messages.success(request, "Preference deleted.")
    return _back_to_customer(customer_pk)
