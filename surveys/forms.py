"""Builder forms. They only parse and shape input; the rules live in ``services``."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from feedback.models import Product
from feedback.selectors import active_products

from .models import Question, Survey
from .question_types import ALL_OPS, QUESTION_TYPES
from .services import QUOTA_TOO_LARGE

OP_LABELS = {
    "eq": "is",
    "neq": "is not",
    "lt": "is less than",
    "lte": "is at most",
    "gt": "is more than",
    "gte": "is at least",
    "in": "is one of (comma-separated)",
    "contains": "contains",
    "answered": "is answered",
}


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class SurveyForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown above the first question.",
    )
    thank_you_message = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown after submitting.",
    )
    audience = forms.ChoiceField(choices=Survey.Audience.choices, initial=Survey.Audience.EXTERNAL)
    product = forms.ModelChoiceField(
        queryset=active_products(), required=False, empty_label="(not about one product)"
    )
    opens_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput())
    closes_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput())
    response_quota = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=Survey.MAX_RESPONSE_QUOTA,
        error_messages={"max_value": QUOTA_TOO_LARGE},
        help_text="Stop accepting responses after this many.",
    )

    def __init__(self, *args, survey: Survey | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if survey is not None and survey.product_id:
            # Products still sold, and the survey's own one even when it no longer is:
            # saving the settings must not drop it.
            self.fields["product"].queryset = (
                active_products() | Product.objects.filter(pk=survey.product_id)
            ).order_by("name")
        # The browser's datetime-local has no zone: it is read (and shown) in the server's
        # current time zone, TIME_ZONE, not the manager's.
        zone = timezone.get_current_timezone_name()
        for name in ("opens_at", "closes_at"):
            self.fields[name].help_text = f"Optional. Date and time in {zone}."

    def clean(self):
        data = super().clean()
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", "The survey must close after it opens.")
        return data

    @classmethod
    def initial_for(cls, survey: Survey) -> dict:
        return {name: getattr(survey, name) for name in cls.base_fields}


class QuestionForm(forms.Form):
    """A question and its logic. ``earlier`` are the questions before it (for display rules)."""

    kind = forms.ChoiceField(choices=Question.Kind.choices, label="Type")
    text = forms.CharField(max_length=500, label="Question")
    help_text = forms.CharField(max_length=500, required=False)
    required = forms.BooleanField(required=False)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Single and multiple choice: one choice per line.",
    )
    allow_other = forms.BooleanField(required=False, label="Add an “Other” option with a text box")
    key = forms.SlugField(
        max_length=40,
        required=False,
        help_text="Identifier used by logic, exports and the API. Leave empty to generate one.",
    )
    show_if_question = forms.ChoiceField(required=False, label="Show only when")
    show_if_op = forms.ChoiceField(
        required=False,
        label="Condition",
        choices=[("", "—")] + [(op, OP_LABELS[op]) for op in ALL_OPS],
    )
    show_if_value = forms.CharField(
        required=False,
        max_length=200,
        label="Value",
        help_text="A number, yes/no, a choice, or several separated by commas for “is one of”.",
    )
    end_if_op = forms.ChoiceField(
        required=False,
        label="End the survey when this answer",
        choices=[("", "— never —")] + [(op, OP_LABELS[op]) for op in ALL_OPS],
    )
    end_if_value = forms.CharField(required=False, max_length=200, label="Value")

    def __init__(self, *args, earlier: list[Question] = (), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.earlier = list(earlier)
        self.fields["show_if_question"].choices = [("", "— always show —")] + [
            (q.key, f"{q.key}: {q.text[:60]}") for q in self.earlier
        ]
        if editing:
            del self.fields["key"]

    def clean_choices(self):
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]

    def clean(self):
        from .logic import coerce_rule_value

        data = super().clean()
        ref_key = data.get("show_if_question")
        op = data.get("show_if_op")
        show_if = {}
        if ref_key:
            if not op:
                self.add_error("show_if_op", "Choose a condition.")
            else:
                referenced = next(q for q in self.earlier if q.key == ref_key)
                plain = {
                    "kind": referenced.kind,
                    "choices": referenced.choices,
                    "allow_other": referenced.allow_other,
                }
                show_if = {"question": ref_key, "op": op}
                if op != "answered" or data.get("show_if_value"):
                    show_if["value"] = coerce_rule_value(plain, op, data.get("show_if_value", ""))
        data["show_if"] = show_if
        end_if = {}
        end_op = data.get("end_if_op")
        if end_op and data.get("kind") in QUESTION_TYPES:
            end_if = {"op": end_op}
            if end_op != "answered" or data.get("end_if_value"):
                own = {
                    "kind": data["kind"],
                    "choices": data.get("choices") or [],
                    "allow_other": data.get("allow_other"),
                }
                end_if["value"] = coerce_rule_value(own, end_op, data.get("end_if_value", ""))
        data["end_if"] = end_if
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "kind",
                "text",
                "help_text",
                "required",
                "choices",
                "allow_other",
                "show_if",
                "end_if",
            )
        }

    @staticmethod
    def initial_for(question: Question) -> dict:
        show_if = question.show_if or {}
        end_if = question.end_if or {}
        return {
            "kind": question.kind,
            "text": question.text,
            "help_text": question.help_text,
            "required": question.required,
            "choices": "\n".join(question.choices or []),
            "allow_other": question.allow_other,
            "show_if_question": show_if.get("question", ""),
            "show_if_op": show_if.get("op", ""),
            "show_if_value": _value_text(show_if.get("value")),
            "end_if_op": end_if.get("op", ""),
            "end_if_value": _value_text(end_if.get("value")),
        }


class QuestionOrderForm(forms.Form):
    """The builder's drag and drop: every current question's key, in the new order.

    Sent as repeated ``order`` values. Only the shape is checked here; which keys a
    survey has is the service's rule (``reorder_questions``).
    """

    MAX_KEYS = 500  # bounds the work a single request can ask for

    order = forms.Field(
        widget=forms.MultipleHiddenInput,
        error_messages={"required": "Send the question keys in their new order."},
    )

    def clean_order(self) -> list[str]:
        keys = [str(key).strip() for key in self.cleaned_data["order"]]
        if len(keys) > self.MAX_KEYS:
            raise forms.ValidationError(f"Send at most {self.MAX_KEYS} question keys.")
        longest = Question._meta.get_field("key").max_length
        if any(not key or len(key) > longest for key in keys):
            raise forms.ValidationError(f"Each question key has 1 to {longest} characters.")
        return keys


def _value_text(value) -> str:
    if value is None or value is True:
        return ""
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def service_errors_to_form(form: forms.Form, exc) -> None:
    """Put a service's ``ValidationError`` on the form's fields (or the form itself)."""
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            target = field if field in form.fields else None
            if field == "show_if" and "show_if_question" in form.fields:
                target = "show_if_question"
            if field == "end_if" and "end_if_op" in form.fields:
                target = "end_if_op"
            form.add_error(target, messages)
    else:
        form.add_error(None, exc.messages)
