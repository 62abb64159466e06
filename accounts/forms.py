from django import forms
from django.core.exceptions import ValidationError

from api.models import WebhookEvent

from .models import ApiKey


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Which system uses it, e.g. “CRM sync”.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        help_text="Leave empty for a key that does not expire.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class WebhookEndpointForm(forms.Form):
    name = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[c for c in WebhookEvent.choices if c[0] != WebhookEvent.PING],
        widget=forms.CheckboxSelectMultiple,
    )


def add_service_errors(form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` on ``form``: messages for a form field on that
    field, the rest (other keys, or a message without a field) on top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def focus_first_error(form) -> None:
    """Focus the first field of ``form`` with an error when its page comes back refused:
    the browser scrolls to it, so the message is seen even below the fold."""
    for name, field in form.fields.items():
        if name in form.errors:
            field.widget.attrs["autofocus"] = True
            return
