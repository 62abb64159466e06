"""The idea filters the backlog page and the API share."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import F, Q

from api.filters import FilterSet
from feedback.models import Product
from insights.models import Theme

from .models import Idea

# Scores sort with the unscored ideas last, whichever the direction.
ORDERINGS = {
    "rice": (F("rice_score").desc(nulls_last=True), "-created_at", "-id"),
    "value_effort": (F("value_effort_score").desc(nulls_last=True), "-created_at", "-id"),
    "customers": ("-customer_count", "-evidence_count", "-id"),
    "votes": ("-vote_count", "-id"),
    "newest": ("-created_at", "-id"),
}
ORDERING_CHOICES = [
    ("rice", "RICE score"),
    ("value_effort", "Value / effort"),
    ("customers", "Customers"),
    ("votes", "Votes"),
    ("newest", "Newest"),
]


class IdeaFilter(FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    status = django_filters.ChoiceFilter(choices=Idea.Status.choices)
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.all(), to_field_name="slug", label="Product"
    )
    theme = django_filters.ModelChoiceFilter(queryset=Theme.objects.all(), label="Theme")
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        label="Owner",
    )
    lane = django_filters.ChoiceFilter(choices=Idea.Lane.choices)
    sort = django_filters.ChoiceFilter(
        method="order", choices=ORDERING_CHOICES, label="Sort by", empty_label="Newest"
    )

    class Meta:
        model = Idea
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(problem__icontains=value)
            | Q(proposed_solution__icontains=value)
        )

    def order(self, queryset, name, value):
        return queryset.order_by(*ORDERINGS.get(value, ORDERINGS["newest"]))
