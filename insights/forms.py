import datetime as dt

from django import forms
from django.utils import timezone

from feedback.models import Customer, Feedback, Product

from .dashboard_scope import Scope

PERIODS = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last 12 months")]
DEFAULT_DAYS = 30
DEFAULT_INTERVAL = "week"
INTERVALS = [("week", "Week"), ("month", "Month")]
# A custom range longer than this would compare against more history than the rollup keeps.
MAX_RANGE_DAYS = 731
# The earliest first day of a custom range: the page also reads the range before it and a
# year or two of chart periods, which the calendar must hold (no dates before year 1).
FIRST_DAY = dt.date(1970, 1, 1)


class ProductChoiceField(forms.ModelChoiceField):
    """Every product, active ones first: an inactive product keeps its history, and the
    rankings link to it."""

    def label_from_instance(self, obj):
        return obj.name if obj.active else f"{obj.name} (inactive)"


def _live_segments():
    from customization.models import Segment

    return Segment.objects.live().order_by("name")


def _visible_themes():
    from .models import Theme

    return Theme.objects.exclude(status=Theme.Status.MERGED).order_by("name")


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; read from the query string, so a view can be bookmarked.

    A preset period (``days``) or a custom range (``date_from`` and ``date_to``, both UTC
    days, inclusive); the custom range wins when given."""

    days = forms.TypedChoiceField(
        label="Period",
        choices=PERIODS,
        coerce=int,
        required=False,
        empty_value=DEFAULT_DAYS,
        initial=DEFAULT_DAYS,
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    product = ProductChoiceField(
        queryset=Product.objects.order_by("-active", "name"),
        to_field_name="slug",
        required=False,
        empty_label="All products",
    )
    channel = forms.ChoiceField(
        choices=[("", "All channels"), *Feedback.Channel.choices], required=False
    )
    segment = forms.ModelChoiceField(
        queryset=_live_segments(), required=False, empty_label="All segments"
    )
    customer_kind = forms.ChoiceField(
        label="Customers",
        choices=[("", "Internal and external"), *Customer.Kind.choices],
        required=False,
    )
    theme = forms.ModelChoiceField(
        queryset=_visible_themes(), required=False, empty_label="All themes"
    )
    interval = forms.ChoiceField(
        label="Chart by", choices=INTERVALS, required=False, initial=DEFAULT_INTERVAL
    )

    def __init__(self, data=None, *args, **kwargs):
        # A query string without a period or interval (a bookmarked product filter) uses the
        # defaults; the selects must show them, not their first option.
        if data is not None:
            data = data.copy()
            for name, default in (("days", DEFAULT_DAYS), ("interval", DEFAULT_INTERVAL)):
                if not data.get(name):
                    data[name] = default
        super().__init__(data, *args, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if (start is None) != (end is None) and not self.has_error("date_from"):
            if not self.has_error("date_to"):
                raise forms.ValidationError("Give both ends of a custom range, or neither.")
        if start and end:
            if start < FIRST_DAY:
                self.add_error("date_from", f"A range starts on {FIRST_DAY} or later.")
            if end < start:
                self.add_error("date_to", "The range must end on or after its first day.")
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                self.add_error("date_to", f"A range covers at most {MAX_RANGE_DAYS} days.")
            elif end > timezone.now().astimezone(dt.UTC).date():
                self.add_error("date_to", "The range cannot end in the future.")
        return data

    def scope(self, *, today: dt.date | None = None) -> Scope:
        """The validated filters as a :class:`Scope`; the defaults when unbound."""
        data = self.cleaned_data if self.is_bound else {}
        today = today or timezone.now().astimezone(dt.UTC).date()
        if data.get("date_from") and data.get("date_to"):
            start, end = data["date_from"], data["date_to"] + dt.timedelta(days=1)
        else:
            end = today + dt.timedelta(days=1)
            start = end - dt.timedelta(days=data.get("days") or DEFAULT_DAYS)
        return Scope(
            start=start,
            end=end,
            product=data.get("product"),
            channel=data.get("channel") or "",
            segment=data.get("segment"),
            customer_kind=data.get("customer_kind") or "",
            theme=data.get("theme"),
            interval=data.get("interval") or DEFAULT_INTERVAL,
        )
