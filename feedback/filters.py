"""The feedback filters the inbox and the API share."""

import datetime as dt
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from api.filters import BooleanFilter

from .models import MAX_ID, Customer, Feedback, Product
from .search import search_feedback
from .services import clean_tag_names


class IdFilter(django_filters.NumberFilter):
    """A row id: a whole number from 1 to ``MAX_ID``; anything else is a field error (a 400
    in the API, a message on the inbox) rather than a query the database cannot run."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        message = "Enter a valid id."
        kwargs.setdefault(
            "error_messages", {"invalid": message, "min_value": message, "max_value": message}
        )
        super().__init__(*args, **kwargs)

    def get_max_validator(self):
        return None


class UtcDayField(IsoDateTimeField):
    """An ISO 8601 date or date-time, compared in UTC. A bare date means midnight UTC: the
    dashboard counts UTC days and links here with bare dates, so its counts and the
    inbox's agree whatever ``TIME_ZONE`` is (django-filter would take the server's time
    zone's midnight). ISO allows offsets up to ±23:59, PostgreSQL refuses those past
    ±15:59, and a time that leaves the calendar in UTC is not a valid date/time."""

    BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        if self.BARE_DATE.fullmatch(str(value).strip()):
            return moment.replace(tzinfo=dt.UTC)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcDayFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDayField


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
    received_from = UtcDayFilter(
        field_name="received_at",
        lookup_expr="gte",
        label="Received from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    received_to = UtcDayFilter(
        field_name="received_at",
        lookup_expr="lt",
        label="Received before",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    customer = IdFilter(field_name="customer_id", label="Customer id")
    # One FeedbackTheme row per feedback and theme: no duplicates to remove.
    theme = IdFilter(field_name="themes__theme", label="Theme id")
    # A customer is in a segment once: no duplicates to remove.
    segment = IdFilter(field_name="customer__segments", label="Segment id")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    assignee = django_filters.CharFilter(field_name="assignee__username", label="Assignee")
    analysed = BooleanFilter(
        field_name="analysed_at", lookup_expr="isnull", exclude=True, label="Analysed"
    )

    class Meta:
        model = Feedback
        fields = []

    def search(self, queryset, name, value):
        return search_feedback(queryset, value)

    def filter_tag(self, queryset, name, value):
        # Tags are stored as slugs ("Billing issue" → billing-issue): look one up as added.
        names = clean_tag_names([value])
        return queryset.filter(tags__name__in=names).distinct() if names else queryset.none()

    def filter_customer_kind(self, queryset, name, value):
        if value == Customer.Kind.EXTERNAL:
            # Anonymous form submissions come from outside the organisation.
            return queryset.filter(Q(customer__kind=value) | Q(customer__isnull=True))
        return queryset.filter(customer__kind=value)
