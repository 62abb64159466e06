"""Forms of the focus group, interview, review source and inbox pages."""

from __future__ import annotations

import json
from collections import Counter

from django import forms
from django.conf import settings

from .inbox import VIEW_NAME_MAX_LENGTH
from .models import MAX_ID, Customer, Feedback, FocusGroup, FocusGroupEntry, ReviewSource
from .research import customer_choice_label
from .review_feeds import MAPPABLE_FIELDS
from .selectors import active_products, research_users, triage_users
from .services import is_tag_name

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TAGS_HELP = "Comma-separated, e.g. pricing, onboarding"


def split_tags(value: str) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def _is_id(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID


class CustomerField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return customer_choice_label(obj)


class ParticipantField(forms.ModelChoiceField):
    """A session's participants by name, quick to pick while typing; namesakes with what
    tells them apart. (Consent was warned about when they were added to the session.)"""

    namesakes: set[str] = set()

    def label_from_instance(self, obj):
        if obj.name in self.namesakes:
            return customer_choice_label(obj, consent=False)
        return obj.name


class CustomersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return customer_choice_label(obj)

    def _check_values(self, value):
        # An id past the column's range is no choice; SQLite cannot even look it up.
        for pk in value:
            if not _is_id(pk):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super()._check_values(value)


class ServiceErrorsMixin:
    def add_service_errors(self, error) -> None:
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class FocusGroupForm(ServiceErrorsMixin, forms.Form):
    topic = forms.CharField(max_length=200)
    scheduled_at = forms.DateTimeField(label="Date and time", widget=DATETIME_WIDGET)
    product = forms.ModelChoiceField(queryset=active_products(), required=False)
    moderator = forms.ModelChoiceField(queryset=research_users())
    participants = CustomersField(
        queryset=Customer.objects.order_by("name", "id"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Customers taking part, internal or external.",
    )
    agenda = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    status = forms.ChoiceField(choices=FocusGroup.Status.choices, initial=FocusGroup.Status.PLANNED)


class FocusGroupEntryForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(
        label="Finding or quote",
        widget=forms.Textarea(attrs={"rows": 3, "autofocus": True}),
        max_length=settings.FEEDBACK_TEXT_MAX_LENGTH,
    )
    kind = forms.ChoiceField(
        choices=FocusGroupEntry.Kind.choices, initial=FocusGroupEntry.Kind.FINDING
    )
    participant = ParticipantField(
        queryset=Customer.objects.none(), required=False, empty_label="(the group / unknown)"
    )
    tags = forms.CharField(required=False, max_length=500, help_text=TAGS_HELP)

    def __init__(self, *args, focus_group: FocusGroup, **kwargs):
        super().__init__(*args, **kwargs)
        participants = focus_group.participants.order_by("name", "id")
        self.fields["participant"].queryset = participants
        names = Counter(participants.values_list("name", flat=True))
        self.fields["participant"].namesakes = {name for name, n in names.items() if n > 1}

    def clean_tags(self):
        return split_tags(self.cleaned_data["tags"])


class InterviewForm(ServiceErrorsMixin, forms.Form):
    customer = CustomerField(queryset=Customer.objects.order_by("name", "id"))
    interviewer = forms.ModelChoiceField(queryset=research_users())
    conducted_at = forms.DateTimeField(label="Date and time", widget=DATETIME_WIDGET)
    product = forms.ModelChoiceField(queryset=active_products(), required=False)
    guide_questions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, help_text="One question per line."
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    transcript = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        help_text="Paste the transcript, or upload it below.",
    )
    transcript_file = forms.FileField(
        required=False,
        label="Transcript file",
        help_text="A .txt or .md file (UTF-8, UTF-16 or Windows-1252); replaces the pasted text.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".txt,.md,.markdown,text/plain,text/markdown"}
        ),
    )


class HighlightForm(ServiceErrorsMixin, forms.Form):
    excerpt = forms.CharField(
        label="Excerpt",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=settings.FEEDBACK_TEXT_MAX_LENGTH,
        strip=False,
        help_text="Select text in the transcript, or paste a passage of it here.",
    )
    start = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    tags = forms.CharField(required=False, max_length=500, help_text=TAGS_HELP)

    def clean_tags(self):
        return split_tags(self.cleaned_data["tags"])


class ReviewSourceForm(ServiceErrorsMixin, forms.ModelForm):
    url = forms.URLField(label="Feed URL", max_length=1000, assume_scheme="https")
    interval_minutes = forms.IntegerField(
        label="Interval (minutes)",
        min_value=1,
        max_value=7 * 24 * 60,
        initial=60,
        help_text="How often to fetch the feed. After failures the wait doubles, up to a day.",
    )
    field_mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "JSON only, optional: where each field is in an item, as a JSON object of "
            'dotted paths, e.g. {"text": "review.body", "rating": "stars"}. Fields: '
            + ", ".join(MAPPABLE_FIELDS)
            + "."
        ),
    )

    class Meta:
        model = ReviewSource
        fields = [
            "name",
            "kind",
            "url",
            "product",
            "interval_minutes",
            "rating_min",
            "rating_max",
            "field_mapping",
            "active",
        ]
        help_texts = {
            "rating_min": "The lowest rating on the feed's scale.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = active_products()
        if self.instance.pk and self.instance.field_mapping:
            self.initial["field_mapping"] = json.dumps(self.instance.field_mapping)

    def clean_field_mapping(self):
        raw = self.cleaned_data["field_mapping"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError('Enter a JSON object, e.g. {"text": "body"}.') from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Enter a JSON object, e.g. {"text": "body"}.')
        return value


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=settings.FEEDBACK_NOTE_MAX_LENGTH,
    )


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=VIEW_NAME_MAX_LENGTH, label="Save these filters as")
    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    shared = forms.BooleanField(required=False, label="Share with the team")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "view_%s")
        super().__init__(*args, **kwargs)


class SavedViewEditForm(forms.Form):
    """Rename one's own saved view, share it or stop sharing it (one form per view)."""

    name = forms.CharField(max_length=VIEW_NAME_MAX_LENGTH, label="Name")
    shared = forms.BooleanField(required=False, label="Shared with the team")

    def __init__(self, *args, view_id: int, **kwargs):
        kwargs.setdefault("auto_id", f"view-{view_id}-%s")
        super().__init__(*args, **kwargs)
        self.view_id = view_id


class BulkTriageForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), label="Selected feedback")
    status = forms.ChoiceField(
        choices=[("", "(keep status)"), *Feedback.Status.choices],
        required=False,
        label="Set status",
    )
    assignee = forms.ChoiceField(required=False, label="Set assignee")
    add_tag = forms.CharField(required=False, max_length=60, label="Add tag")
    next = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)

    UNASSIGN = "-"

    def __init__(self, *args, **kwargs):
        # Its fields share names with the inbox filters on the same page: distinct ids.
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        # Ids are checked by the service (it must lock them anyway); accept any id here.
        self.fields["ids"].valid_value = _is_id
        self.fields["assignee"].choices = [
            ("", "(keep assignee)"),
            (self.UNASSIGN, "(nobody)"),
            *[(str(u.pk), u.get_username()) for u in triage_users()],
        ]

    def clean_add_tag(self):
        # The page checks this too (a refusal from here loses the ticked rows).
        value = self.cleaned_data["add_tag"]
        if value.strip() and not is_tag_name(value):
            raise forms.ValidationError("A tag needs a letter (a–z) or a digit.")
        return value

    def clean_assignee(self):
        value = self.cleaned_data["assignee"]
        if value == "":
            return ...
        if value == self.UNASSIGN:
            return None
        return triage_users().get(pk=int(value))
