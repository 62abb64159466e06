"""Filter backends every list endpoint shares."""

from __future__ import annotations

from rest_framework import filters


class SearchFilter(filters.SearchFilter):
    """``search`` documented only where the view names what it searches (``search_fields``):
    elsewhere DRF would still list it, and a client's search would answer the whole list."""

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        return super().get_schema_operation_parameters(view)
