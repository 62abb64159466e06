"""Forms of the monitoring pages: alert rules and follow-up owners."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from customization.models import Segment
from feedback.models import Customer, Feedback, Product
from feedback.selectors import triage_users

from .alerts import validate_threshold
from .models import Alert, AlertRule, Theme


class _InUseChoiceField(forms.ModelChoiceField):
    """Offers the themes or segments in use; a rule's own one gone out of use stays
    listed, marked, so editing that rule does not quietly widen it to all."""

    def label_from_instance(self, obj):
        status = obj.get_status_display().lower()
        return str(obj) if obj.status == "active" else f"{obj} ({status})"


class AlertRuleForm(forms.ModelForm):
    channel = forms.ChoiceField(
        choices=[("", "Any channel"), *Feedback.Channel.choices], required=False
    )
    customer_kind = forms.ChoiceField(
        choices=[("", "Any customer"), *Customer.Kind.choices], required=False
    )
    notify_emails = forms.CharField(
        required=False,
        label="Also email",
        help_text="Addresses separated by commas.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    notify_users = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="Notify people", widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "metric",
            "product",
            "channel",
            "customer_kind",
            "theme",
            "segment",
            "condition",
            "threshold",
            "window_days",
            "min_count",
            "active",
        ]
        labels = {"window_days": "Window (days)", "min_count": "Minimum observations"}
        field_classes = {"theme": _InUseChoiceField, "segment": _InUseChoiceField}
        help_texts = {
            "theme": "Only the feedback carrying this theme, and the survey scores of the "
            "responses whose comments carry it (as the theme page counts them).",
            "segment": "Only the feedback and survey scores of this segment's customers.",
            "threshold": "Not used for “changes significantly”.",
            "window_days": "The last this many days, today included (1–90).",
            "min_count": "Stay silent when the window has fewer observations than this.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Active products, and the rule's own one even when it no longer is (as for themes).
        kept_product = Product.objects.filter(pk=self.instance.product_id)
        self.fields["product"].queryset = (
            Product.objects.filter(active=True) | kept_product
        ).order_by("name")
        self.fields["product"].empty_label = "All products"
        # In use, and the rule's own one even when it no longer is.
        kept_theme = Theme.objects.filter(pk=self.instance.theme_id)
        self.fields["theme"].queryset = (Theme.objects.in_use() | kept_theme).order_by("name")
        self.fields["theme"].empty_label = "All themes"
        kept_segment = Segment.objects.filter(pk=self.instance.segment_id)
        self.fields["segment"].queryset = (Segment.objects.live() | kept_segment).order_by("name")
        self.fields["segment"].empty_label = "All segments"
        self.fields["notify_users"].queryset = triage_users()
        self.fields["window_days"].min_value = 1
        self.fields["window_days"].widget.attrs.update(min=1, max=90)
        if self.instance.pk:
            self.initial["notify_emails"] = ", ".join(self.instance.notify_emails or [])
            self.initial["notify_users"] = list(self.instance.notify_users.all())

    def clean_notify_emails(self) -> list[str]:
        raw = self.cleaned_data.get("notify_emails") or ""
        emails = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
        bad = []
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                bad.append(email)
        if bad:
            raise ValidationError(f"Not an email address: {', '.join(bad)}")
        return sorted(set(emails))

    def clean_window_days(self):
        days = self.cleaned_data["window_days"]
        if not 1 <= days <= 90:
            raise ValidationError("Choose a window of 1 to 90 days.")
        return days

    def clean(self):
        data = super().clean()
        above_or_below = (AlertRule.Condition.ABOVE, AlertRule.Condition.BELOW)
        if data.get("condition") in above_or_below:
            if data.get("threshold") is None:
                self.add_error("threshold", "A threshold rule needs a threshold.")
            else:
                # Checked by alerts.save_alert_rule too; here so that the page lists it
                # with the other fields' errors, not only once those are fixed.
                try:
                    validate_threshold(metric=data.get("metric"), threshold=data["threshold"])
                except ValidationError as exc:
                    self.add_error(None, exc)
        return data

    def rule_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["notify_emails"] = self.cleaned_data["notify_emails"]
        return data


class ProductOwnerForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none())
    owner = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Nobody (leave unassigned)"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.order_by("name")
        self.fields["owner"].queryset = triage_users()


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("unresolved", "Open and acknowledged"), *Alert.Status.choices, ("all", "All")],
        required=False,
    )


class ResolveAlertForm(forms.Form):
    note = forms.CharField(max_length=300, required=False)
