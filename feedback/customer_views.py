"""Customer pages: find a customer, then see everything they told us on every channel."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.decorators import permission_required
from customization import selectors as customization_selectors
from customization.forms import PreferenceForm

from .selectors import (
    customer_feedback,
    customer_focus_groups,
    customer_interviews,
    customer_list,
    customer_survey_invitations,
    customer_survey_responses,
    get_customer_for_user,
)

PAGE_SIZE = 50
FEEDBACK_PAGE_SIZE = 25
VIEW = "feedback.view_customer"


@permission_required(VIEW)
def customers(request):
    # No name or email holds a NUL, and PostgreSQL refuses one in a query parameter.
    search = request.GET.get("q", "").replace("\x00", "")[:200]
    page = Paginator(customer_list(search), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "feedback/customer_list.html",
        {"page": page, "search": search, "query": urlencode({"q": search}) if search else ""},
    )


@permission_required(VIEW)
def customer_detail(request, pk: int):
    customer = get_customer_for_user(request.user, pk)
    feedback_page = Paginator(customer_feedback(customer), FEEDBACK_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "feedback/customer_detail.html",
        {
            "customer": customer,
            "page": feedback_page,
            "responses": customer_survey_responses(customer)[:50],
            "invitations": customer_survey_invitations(customer)[:50],
            "focus_groups": customer_focus_groups(customer),
            "interviews": customer_interviews(customer),
            "can_triage": request.user.has_perm("feedback.triage_feedback"),
            **_customization_profile(request.user, customer),
        },
    )


def _customization_profile(user, customer) -> dict:
    """Stated and inferred preferences, segments and customization requests."""
    profile = {}
    if user.has_perm("customization.view_customerpreference"):
        profile["preferences"] = customization_selectors.customer_preferences(customer)
        profile["inferred_themes"] = customization_selectors.inferred_themes(customer)
        profile["products_discussed"] = customization_selectors.customer_products(customer)
        profile["preference_form"] = PreferenceForm()
    if user.has_perm("customization.view_segment"):
        profile["customer_segments"] = customization_selectors.customer_segments(customer)
    if user.has_perm("customization.view_customizationrequest"):
        profile["customization_requests"] = customization_selectors.customer_requests(customer)[:50]
    return profile
