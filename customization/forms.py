"""Forms of the customization pages; the rules themselves are checked by the service."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from feedback.models import Customer, Product
from insights.models import Theme

from . import segment_rules
from .models import CustomerPreference, CustomizationRequest, Segment

RULE_ROWS = 6
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=120, label="Segment name")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class RuleForm(forms.Form):
    """One condition row of the rule builder; empty rows are ignored."""

    field = forms.ChoiceField(
        label="Field",
        required=False,
        choices=[("", "—")] + [(name, label) for name, label in segment_rules.FIELD_LABELS.items()],
    )
    key = forms.CharField(label="Attribute name", max_length=80, required=False)
    op = forms.ChoiceField(
        label="Condition", required=False, choices=list(segment_rules.OPS_LABELS.items())
    )
    value = forms.CharField(
        label="Value",
        max_length=2000,
        required=False,
        help_text="For “is one of”, separate values with commas.",
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not data.get("field")

    def as_rule(self) -> dict:
        data = self.cleaned_data
        field, op, raw = data["field"], data["op"], data["value"].strip()
        custom = field == "attribute"
        if custom:
            field = f"{segment_rules.ATTRIBUTE_PREFIX}{data['key'].strip()}"
        if op == "in":
            value = [_typed(part.strip(), custom) for part in raw.split(",") if part.strip()]
        else:
            value = _typed(raw, custom and op in ("eq",))
        return {"field": field, "op": op, "value": value}


def _typed(text: str, custom: bool):
    """Custom attribute values keep JSON types: 5 is a number, true a boolean, and "5" in
    double quotes the text 5."""
    if not custom:
        return text
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    return text


def _shown(value, custom: bool) -> str:
    """A rule value as typed in the builder: ``_typed`` reads it back as the same value."""
    if value is True or value is False:
        return "true" if value else "false"
    text = str(value)
    if custom and isinstance(value, str) and _typed(text, True) != value:
        return f'"{text}"'
    return text


RuleFormSet = forms.formset_factory(RuleForm, extra=RULE_ROWS, max_num=RULE_ROWS)


def rule_initial(rules: list[dict]) -> list[dict]:
    rows = []
    for rule in rules:
        field = rule.get("field", "")
        row = {"field": field, "op": rule.get("op"), "key": ""}
        if field.startswith(segment_rules.ATTRIBUTE_PREFIX):
            row["field"] = "attribute"
            row["key"] = field[len(segment_rules.ATTRIBUTE_PREFIX) :]
        value = rule.get("value")
        items = value if isinstance(value, list) else [value]
        typed = row["field"] == "attribute" and rule.get("op") in ("eq", "in")
        row["value"] = ", ".join(_shown(v, typed) for v in items)
        rows.append(row)
    return rows


class RenameSegmentForm(forms.Form):
    name = forms.CharField(max_length=120, required=False, label="New name")


def _users():
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .order_by("username")
    )


def _keeping(queryset: QuerySet, pk: int | None) -> QuerySet:
    """``queryset`` plus the row ``pk``, in the same order."""
    if pk is None:
        return queryset
    return queryset.model.objects.filter(Q(pk__in=queryset.values("pk")) | Q(pk=pk)).order_by(
        *queryset.query.order_by
    )


class RequestForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.order_by("name", "id"), required=False, empty_label="—"
    )
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.live().order_by("name"), required=False, empty_label="—"
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(active=True).order_by("name"), required=False
    )
    theme = forms.ModelChoiceField(
        queryset=Theme.objects.assignable().order_by("name"), required=False
    )
    owner = forms.ModelChoiceField(queryset=_users(), required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, current: CustomizationRequest | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if current is not None:
            # An edit keeps what the request has now, even when it is no longer offered
            # for new requests (a product made inactive, a theme archived or merged, an
            # owner who left): saving the form must not clear it unnoticed.
            for name in ("product", "theme", "owner"):
                field = self.fields[name]
                field.queryset = _keeping(field.queryset, getattr(current, f"{name}_id"))

    def clean(self):
        data = super().clean()
        if data.get("customer") and data.get("segment"):
            raise forms.ValidationError("A request is for one customer or one segment, not both.")
        if not data.get("customer") and not data.get("segment") and not self.errors:
            raise forms.ValidationError("Choose the customer or the segment this request is for.")
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=CustomizationRequest.Status.choices, label="Move to")
    note = forms.CharField(max_length=2000, required=False, label="Note")
    delivery_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="What was delivered (told to the customers)",
    )


class EvidenceForm(forms.Form):
    feedback = forms.IntegerField(min_value=1, label="Feedback #")


class ThemeRequestForm(forms.Form):
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.live().order_by("name"), label="For segment"
    )
    title = forms.CharField(max_length=200, required=False, label="Title")


class PreferenceForm(forms.Form):
    key = forms.CharField(max_length=80, label="Preference")
    value = forms.CharField(max_length=500, label="Value")
    source = forms.ChoiceField(choices=CustomerPreference.Source.choices)
    stated_on = forms.DateField(
        required=False, label="Stated on", widget=forms.DateInput(attrs={"type": "date"})
    )


class PromoteForm(forms.Form):
    requests = forms.CharField(max_length=5000)

    def clean_requests(self):
        try:
            ids = [int(part) for part in self.cleaned_data["requests"].split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Not a list of request numbers.") from None
        if not ids:
            raise forms.ValidationError("No request given.")
        return ids


class RequestFilterForm(forms.Form):
    SORTS = [
        ("-created_at", "Newest"),
        ("-value_at_stake", "Value at stake (highest first)"),
        ("due_date", "Due date (soonest first)"),
    ]
    status = forms.ChoiceField(
        choices=[("", "Any")] + list(CustomizationRequest.Status.choices), required=False
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"), required=False, empty_label="Any"
    )
    owner = forms.ModelChoiceField(queryset=_users(), required=False, empty_label="Anyone")
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.live().order_by("name"), required=False, empty_label="Any"
    )
    customer = forms.IntegerField(required=False, min_value=1, label="Customer #")
    sort = forms.ChoiceField(choices=SORTS, required=False)
