"""One error shape for the whole API: ``{"errors": {field: [messages]}, "code": "..."}``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD = "non_field_errors"


def _as_field_messages(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for field, value in detail.items():
            if isinstance(value, dict):
                for sub, messages in _as_field_messages(value).items():
                    out[f"{field}.{sub}"] = messages
            elif isinstance(value, list):
                flat = []
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        for sub, messages in _as_field_messages(item).items():
                            out[f"{field}.{index}.{sub}"] = messages
                    else:
                        flat.append(str(item))
                if flat:
                    out[field] = flat
            else:
                out[field] = [str(value)]
        return out
    if isinstance(detail, list):
        return {NON_FIELD: [str(item) for item in detail]}
    return {NON_FIELD: [str(detail)]}


def _django_error_codes(exc: DjangoValidationError) -> set[str]:
    errors = (
        [e for errs in exc.error_dict.values() for e in errs]
        if hasattr(exc, "error_dict")
        else exc.error_list
    )
    return {e.code for e in errors if e.code} | (
        {exc.code} if getattr(exc, "code", None) else set()
    )


def exception_handler(exc, context):
    code = None
    if isinstance(exc, DjangoValidationError):
        code = "duplicate" if "duplicate" in _django_error_codes(exc) else "invalid"
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code = code or "invalid"
        if code == "duplicate":
            response.status_code = status.HTTP_409_CONFLICT
        response.data = {"errors": _as_field_messages(exc.detail), "code": code}
    else:
        detail = getattr(exc, "detail", str(exc))
        response.data = {
            "errors": {NON_FIELD: [str(detail)]},
            "code": getattr(detail, "code", None) or getattr(exc, "default_code", "error"),
        }
    return response
