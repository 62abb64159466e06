from django import forms
from django.core.exceptions import ValidationError

from customization.models import Segment
from feedback.models import Customer, Product

from . import distribution


class AudienceForm(forms.Form):
    """Which customers to invite: filters and/or a pasted list of addresses."""

    kind = forms.ChoiceField(
        label="Customer kind", choices=[("", "Any"), *Customer.Kind.choices], required=False
    )
    tier = forms.ChoiceField(
        label="Tier", choices=[("", "Any"), *Customer.Tier.choices], required=False
    )
    department = forms.CharField(label="Department", max_length=120, required=False)
    account = forms.CharField(label="Account / company contains", max_length=200, required=False)
    product = forms.ModelChoiceField(
        label="Gave feedback on",
        queryset=Product.objects.filter(active=True).order_by("name"),
        required=False,
        empty_label="Any product",
    )
    segment = forms.ModelChoiceField(
        label="Segment",
        queryset=Segment.objects.live().order_by("name"),
        required=False,
        empty_label="No segment",
        help_text="Rule, manual and accepted segments, with their current members.",
    )
    emails = forms.CharField(
        label="Or paste email addresses",
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=200_000,
        help_text="One per line, or separated by commas. Only addresses of known customers are invited.",
    )

    def clean_emails(self):
        text = self.cleaned_data.get("emails") or ""
        valid, invalid = distribution.parse_email_list(text)
        if invalid:
            shown = ", ".join(invalid[:5]) + (" …" if len(invalid) > 5 else "")
            raise ValidationError(f"Not valid email addresses: {shown}")
        return valid

    def clean(self):
        cleaned = super().clean()
        if not self.errors and self.audience().is_empty:
            raise ValidationError("Choose at least one filter or paste some addresses.")
        return cleaned

    def audience(self) -> distribution.Audience:
        data = self.cleaned_data
        return distribution.Audience(
            kind=data.get("kind") or "",
            tier=data.get("tier") or "",
            department=data.get("department") or "",
            account=data.get("account") or "",
            product=data.get("product"),
            segment=data.get("segment"),
            emails=data.get("emails") or [],
        )
