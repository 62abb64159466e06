from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import (
    Customer,
    Feedback,
    FeedbackNote,
    FocusGroup,
    FocusGroupEntry,
    Interview,
    InterviewHighlight,
    Product,
    ReviewSource,
    SavedView,
)


def feedback_list() -> QuerySet[Feedback]:
    # "themes__theme": the links insights keeps (its FeedbackTheme), named by the relation
    # so this app does not import insights.
    return Feedback.objects.select_related("customer", "product", "assignee").prefetch_related(
        "tags", "themes__theme"
    )


def get_feedback_for_user(user, pk: int) -> Feedback:
    """The feedback ``pk`` if ``user`` may triage it; 404 otherwise (ids reveal nothing)."""
    if not user.has_perm("feedback.triage_feedback"):
        from django.http import Http404

        raise Http404
    return get_object_or_404(feedback_list(), pk=pk)


def active_products() -> QuerySet[Product]:
    return Product.objects.filter(active=True).order_by("name")


def triage_users() -> QuerySet:
    """Everyone who may be given feedback: the people ``update_feedback_triage`` accepts
    as assignee (a role, the permission itself, or a superuser)."""
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions__codename="triage_feedback")
            | Q(user_permissions__codename="triage_feedback")
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )


# --- Research sessions, review sources, inbox extras, customers -------------------------


def _require(user, perm: str) -> None:
    from django.core.exceptions import PermissionDenied

    if not user.has_perm(perm):
        raise PermissionDenied


def focus_group_list() -> QuerySet[FocusGroup]:
    return (
        FocusGroup.objects.select_related("product", "moderator")
        .annotate(entry_count=Count("entries", distinct=True))
        .prefetch_related("participants")
        .order_by("-scheduled_at", "-id")
    )


def get_focus_group_for_user(user, pk: int) -> FocusGroup:
    """The session ``pk`` if ``user`` may see focus groups (403 otherwise, 404 if absent)."""
    _require(user, "feedback.view_focusgroup")
    return get_object_or_404(focus_group_list(), pk=pk)


def focus_group_entries(focus_group: FocusGroup) -> QuerySet[FocusGroupEntry]:
    return focus_group.entries.select_related("feedback", "participant", "author").prefetch_related(
        "feedback__tags"
    )


def interview_list() -> QuerySet[Interview]:
    return (
        Interview.objects.select_related("customer", "interviewer", "product")
        .annotate(highlight_count=Count("highlights", distinct=True))
        .order_by("-conducted_at", "-id")
    )


def get_interview_for_user(user, pk: int) -> Interview:
    _require(user, "feedback.view_interview")
    return get_object_or_404(interview_list(), pk=pk)


def interview_highlights(interview: Interview) -> QuerySet[InterviewHighlight]:
    return interview.highlights.select_related("feedback", "author").prefetch_related(
        "feedback__tags"
    )


def review_source_list() -> QuerySet[ReviewSource]:
    return ReviewSource.objects.select_related("product")


def get_review_source_for_user(
    user, pk: int, perm: str = "feedback.view_reviewsource"
) -> ReviewSource:
    _require(user, perm)
    return get_object_or_404(review_source_list(), pk=pk)


def saved_views_of(user) -> QuerySet[SavedView]:
    """The views ``user`` sees in the inbox bar: their own, then the team's shared ones."""
    return (
        SavedView.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .annotate(is_own=Q(owner=user))
        .order_by("-is_own", "name", "id")
    )


def views_owned_by(user) -> QuerySet[SavedView]:
    """The saved views ``user`` may change or delete: their own (a colleague's shared view
    is listed for them, not theirs to change)."""
    return SavedView.objects.filter(owner=user)


def feedback_notes(feedback: Feedback) -> QuerySet[FeedbackNote]:
    return feedback.notes.select_related("author", "edited_by").order_by("created_at", "id")


def customer_list(search: str = "") -> QuerySet[Customer]:
    customers = Customer.objects.annotate(feedback_count=Count("feedback", distinct=True))
    search = search.strip()
    if search:
        customers = customers.filter(
            Q(name__icontains=search)
            | Q(email__icontains=search)
            | Q(account__icontains=search)
            | Q(department__icontains=search)
        )
    return customers.order_by("name", "id")


def get_customer_for_user(user, pk: int) -> Customer:
    _require(user, "feedback.view_customer")
    return get_object_or_404(Customer, pk=pk)


def customer_feedback(customer: Customer) -> QuerySet[Feedback]:
    return feedback_list().filter(customer=customer)


def customer_survey_responses(customer: Customer):
    return customer.survey_responses.select_related("survey").order_by("-submitted_at")


def customer_survey_invitations(customer: Customer):
    return customer.survey_invitations.select_related("survey").order_by("-created_at")


def customer_focus_groups(customer: Customer) -> QuerySet[FocusGroup]:
    return (
        FocusGroup.objects.filter(participants=customer)
        .select_related("moderator")
        .order_by("-scheduled_at")
    )


def customer_interviews(customer: Customer) -> QuerySet[Interview]:
    return (
        customer.interviews.select_related("interviewer")
        .annotate(highlight_count=Count("highlights", distinct=True))
        .order_by("-conducted_at", "-id")
    )


def research_users() -> QuerySet:
    """Who may moderate a focus group or conduct an interview."""
    User = get_user_model()
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions__codename="change_focusgroup")
            | Q(user_permissions__codename="change_focusgroup")
            | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )
