from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Feedback, Product


def feedback_list() -> QuerySet[Feedback]:
    return Feedback.objects.select_related("customer", "product", "assignee").prefetch_related(
        "tags"
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
    User = get_user_model()
    return (
        User.objects.filter(is_active=True, groups__permissions__codename="triage_feedback")
        .distinct()
        .order_by("username")
    )
