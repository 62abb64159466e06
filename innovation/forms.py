"""Forms of the idea backlog pages; the rules themselves live in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from feedback.models import Customer, Product
from insights.models import Theme

from .models import Idea
from .services import EFFORT_MIN, VALUE_MAX


def parse_ids(value: str) -> list[int]:
    """ "12, 15 18" → [12, 15, 18]; raises ValidationError on anything else."""
    parts = [part for part in value.replace(",", " ").split() if part]
    try:
        ids = [int(part.lstrip("#")) for part in parts]
    except ValueError as exc:
        raise forms.ValidationError("Enter feedback ids separated by commas, e.g. 12, 15.") from exc
    if any(pk <= 0 for pk in ids):
        raise forms.ValidationError("Feedback ids are positive numbers.")
    return list(dict.fromkeys(ids))


def whole_number(value: str) -> int | None:
    """ "12" → 12; None for anything else ("²" and 5,000-digit strings pass ``isdigit`` but
    ``int`` refuses them)."""
    if not value.isascii() or not value.isdigit():
        return None
    try:
        return int(value)
    except ValueError:
        return None


class IdsField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        return parse_ids(value or "")


class IdeaForm(forms.Form):
    title = forms.CharField(max_length=200)
    problem = forms.CharField(
        label="Problem statement",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The customers' pain, in their words: what hurts, for whom, how often.",
    )
    proposed_solution = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    product = forms.ModelChoiceField(queryset=Product.objects.filter(active=True), required=False)
    theme = forms.ModelChoiceField(
        queryset=Theme.objects.filter(status__in=[Theme.Status.ACTIVE, Theme.Status.PROPOSED]),
        required=False,
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
    )
    feedback_ids = IdsField(
        label="Evidence (feedback ids)", required=False, widget=forms.HiddenInput
    )
    # Set once the user has seen the possible duplicates and saves anyway.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class IdeaEditForm(IdeaForm):
    def __init__(self, *args, idea: Idea, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["feedback_ids"]
        del self.fields["confirmed"]
        # The idea's own product, theme and owner stay choosable after they stop being
        # offered for new ideas (product inactive, theme archived, owner deactivated):
        # otherwise the select shows nothing chosen and saving clears them.
        for name in ("product", "theme", "owner"):
            current = getattr(idea, f"{name}_id")
            if current is not None:
                field = self.fields[name]
                field.queryset = field.queryset | field.queryset.model.objects.filter(pk=current)


class ScoresForm(forms.Form):
    impact = forms.FloatField(
        required=False, min_value=0, max_value=10, help_text="0.25 minimal · 1 medium · 3 massive"
    )
    confidence = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="0–1, e.g. 0.8"
    )
    effort = forms.FloatField(required=False, help_text="person-months, more than 0")
    value = forms.FloatField(
        required=False, min_value=0, max_value=VALUE_MAX, help_text="business value 1–10"
    )

    def clean_effort(self):
        effort = self.cleaned_data.get("effort")
        if effort is not None and effort <= 0:
            raise forms.ValidationError("Effort must be more than 0.")
        if effort is not None and effort < EFFORT_MIN:
            raise forms.ValidationError(f"Effort must be at least {EFFORT_MIN:g} person-months.")
        return effort


class StatusForm(forms.Form):
    to_status = forms.ChoiceField(label="New status", choices=Idea.Status.choices)
    note = forms.CharField(required=False, max_length=1000)

    def __init__(self, *args, allowed: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if allowed is not None:
            self.fields["to_status"].choices = [
                (value, label) for value, label in Idea.Status.choices if value in allowed
            ]


class EvidenceForm(forms.Form):
    feedback_ids = IdsField(label="Feedback ids", help_text="e.g. 12, 15")


class EvidenceSearchForm(forms.Form):
    """The find-evidence page's search box (a NUL character is refused, not sent to SQL)."""

    q = forms.CharField(required=False, label="Search instead")


class EvidenceConfirmForm(forms.Form):
    """Ticked feedback from find similar or search, with the similarity each was shown with."""

    feedback = forms.TypedMultipleChoiceField(coerce=int, choices=(), label="Feedback")
    mode = forms.ChoiceField(choices=[("similar", "similar"), ("search", "search")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be ticked; the service checks the feedback exists.
        ticked = self.data.getlist("feedback") if hasattr(self.data, "getlist") else []
        self.fields["feedback"].choices = [(value, value) for value in ticked]

    def similarities(self) -> dict[int, float]:
        scores = {}
        for pk in self.cleaned_data.get("feedback", []):
            try:
                score = float(self.data.get(f"similarity_{pk}", ""))
            except ValueError:
                continue
            if 0 <= score <= 1:
                scores[pk] = score
        return scores


class VoteForm(forms.Form):
    customer = forms.CharField(label="Customer", help_text="Customer id or e-mail address")

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        pk = whole_number(value)
        lookup = Q(pk=pk) if pk is not None else Q(email__iexact=value)
        customers = list(Customer.objects.filter(lookup)[:2])
        if len(customers) != 1:
            raise forms.ValidationError(
                "No single customer matches." if customers else "No customer matches."
            )
        return customers[0]


class MergeForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Idea.objects.none(), label="Merge into")

    def __init__(self, *args, targets=None, **kwargs):
        super().__init__(*args, **kwargs)
        if targets is not None:
            self.fields["target"].queryset = targets


class FeedbackToIdeaForm(forms.Form):
    idea = forms.ModelChoiceField(queryset=Idea.objects.open(), label="Add to idea")


class SegmentWeightsForm(forms.Form):
    def __init__(self, *args, segments=(), **kwargs):
        super().__init__(*args, **kwargs)
        for segment, weight in segments:
            self.fields[f"segment_{segment.pk}"] = forms.FloatField(
                label=segment.name, min_value=0, max_value=1000, initial=weight
            )

    def weights(self) -> dict[int, float]:
        return {
            int(name.removeprefix("segment_")): value for name, value in self.cleaned_data.items()
        }
