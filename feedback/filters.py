"""The feedback filters the inbox and the API share."""

import django_filters
from django import forms
from django.db.models import Q

from .models import Customer, Feedback, Product
from .search import search_feedback


class FeedbackFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    channel = django_filters.ChoiceFilter(choices=Feedback.Channel.choices)
    status = django_filters.ChoiceFilter(choices=Feedback.Status.choices)
    sentiment = django_filters.ChoiceFilter(
        field_name="sentiment_label", choices=Feedback.Sentiment.choices, label="Sentiment"
    )
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.all(), to_field_name="slug", label="Product"
    )
    customer_kind = django_filters.ChoiceFilter(
        method="filter_customer_kind", choices=Customer.Kind.choices, label="Customer"
    )
    # ISO dates or date-times; a bare date means midnight UTC.
    received_from = django_filters.IsoDateTimeFilter(
        field_name="received_at",
        lookup_expr="gte",
        label="Received from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    received_to = django_filters.IsoDateTimeFilter(
        field_name="received_at",
        lookup_expr="lt",
        label="Received before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    customer = django_filters.NumberFilter(field_name="customer_id", label="Customer id")
    # One FeedbackTheme row per feedback and theme: no duplicates to remove.
    theme = django_filters.NumberFilter(field_name="themes__theme", label="Theme id")
    # A customer is in a segment once: no duplicates to remove.
    segment = django_filters.NumberFilter(field_name="customer__segments", label="Segment id")
    tag = django_filters.CharFilter(field_name="tags__name", label="Tag", distinct=True)
    assignee = django_filters.CharFilter(field_name="assignee__username", label="Assignee")
    analysed = django_filters.BooleanFilter(
        field_name="analysed_at", lookup_expr="isnull", exclude=True, label="Analysed"
    )

    class Meta:
        model = Feedback
        fields = []

    def search(self, queryset, name, value):
        return search_feedback(queryset, value)

    def filter_customer_kind(self, queryset, name, value):
        if value == Customer.Kind.EXTERNAL:
            # Anonymous form submissions come from outside the organisation.
            return queryset.filter(Q(customer__kind=value) | Q(customer__isnull=True))
        return queryset.filter(customer__kind=value)
