from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from .models import Feedback
from .selectors import active_products, triage_users


def consent_text() -> str:
    """What a person agrees to with the public form's consent box (stored with the feedback)."""
    return (
        f"I agree that {settings.ORGANISATION_NAME} stores this feedback, and my name and "
        "email if I give them, to improve its products and services, and may contact me "
        "about it."
    )


class PublicFeedbackForm(forms.Form):
    text = forms.CharField(
        label="Your feedback",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=settings.FEEDBACK_TEXT_MAX_LENGTH,
    )
    rating = forms.TypedChoiceField(
        label="How would you rate us overall?",
        choices=[("", "No rating")] + [(str(n), f"{n} ★") for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    product = forms.ModelChoiceField(
        queryset=active_products(), required=False, empty_label="(not about one product)"
    )
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    consent = forms.BooleanField(required=False)
    # Hidden from people by CSS (and kept out of the Tab order and autofill, so no person
    # reaches it); bots fill every field they see.
    website = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def clean_text(self):
        text = self.cleaned_data["text"].strip()
        if "\x00" in text:
            raise forms.ValidationError("Text may not contain NUL characters.")
        return text

    def clean(self):
        data = super().clean()
        if (data.get("email") or data.get("name")) and not data.get("consent"):
            self.add_error(
                "consent", "Tick the box so we may keep your name and email, or leave them out."
            )
        return data

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].label = consent_text()

    def full_clean(self):
        super().full_clean()
        # The page comes back at its top, and on a phone the field to fix may lie below
        # the fold: focus it (and so scroll to it), without any script.
        first = next((name for name in self.fields if name in self.errors), None)
        if first is not None:
            self.fields[first].widget.attrs["autofocus"] = True

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))


class _AssigneeField(forms.ModelChoiceField):
    kept_pk = None  # the current assignee, listed though no longer assignable

    def label_from_instance(self, obj):
        name = obj.get_username()
        return f"{name} (kept; no longer assignable)" if obj.pk == self.kept_pk else name


class TriageForm(forms.Form):
    status = forms.ChoiceField(choices=Feedback.Status.choices)
    assignee = _AssigneeField(queryset=triage_users(), required=False)
    tags = forms.CharField(
        required=False, help_text="Comma-separated, e.g. billing, mobile-app", max_length=500
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.initial.get("assignee")
        if current is not None and not triage_users().filter(pk=current.pk).exists():
            # Someone who left or lost the role still holds the feedback: listed (and
            # selected), so saving a status change does not unassign them unseen.
            field = self.fields["assignee"]
            field.kept_pk = current.pk
            field.queryset = (
                get_user_model()
                .objects.filter(Q(pk__in=triage_users().values("pk")) | Q(pk=current.pk))
                .order_by("username")
            )

    def clean_tags(self):
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]
