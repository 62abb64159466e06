from django import forms

from feedback.selectors import active_products

PERIODS = [(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last 12 months")]


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; read from the query string, so a view can be bookmarked."""

    days = forms.TypedChoiceField(
        label="Period", choices=PERIODS, coerce=int, required=False, empty_value=30
    )
    product = forms.ModelChoiceField(
        queryset=active_products(),
        to_field_name="slug",
        required=False,
        empty_label="All products",
    )
