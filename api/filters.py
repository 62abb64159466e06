"""Filter backends every list endpoint shares."""

from __future__ import annotations

from copy import deepcopy

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import rest_framework as drf_filters
from rest_framework import filters


class SearchFilter(filters.SearchFilter):
    """``search`` documented only where the view names what it searches (``search_fields``):
    elsewhere DRF would still list it, and a client's search would answer the whole list."""

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)


class StrictBooleanField(forms.Field):
    """``true`` / ``false`` (or ``1`` / ``0``), empty for no filter; anything else is an
    error on the field, where django-filter's own field would ignore it and answer the
    whole list."""

    default_error_messages = {"invalid": "Enter true or false."}

    def to_python(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0"):
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterSet(drf_filters.FilterSet):
    """The filter sets the API builds from ``filterset_fields``: booleans strict."""

    FILTER_DEFAULTS = deepcopy(drf_filters.FilterSet.FILTER_DEFAULTS)
    FILTER_DEFAULTS[models.BooleanField] = {"filter_class": BooleanFilter}


class FilterBackend(drf_filters.DjangoFilterBackend):
    filterset_base = FilterSet
