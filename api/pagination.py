"""Pages for list endpoints: page numbers for small lists, cursors for large ones."""

from __future__ import annotations

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class CursorPagination(pagination.CursorPagination):
    """Opaque ``next``/``previous`` links over a stable order, for large lists.

    A page costs the same however deep it is (no ``OFFSET``, no ``COUNT``), and rows
    written while a client walks the list neither repeat nor go missing. The first
    ordering field must be non-null (a view's ``cursor_fields`` names those it accepts);
    a request ordered by another field, or asking for ``?page=``, gets numbered pages.
    """

    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"

    def __init__(self):
        self._numbered: PageNumberPagination | None = None

    def get_ordering(self, request, queryset, view):
        # DRF takes the order from an ordering filter, else from this class; a view
        # without one (alerts) is paged in its own ``ordering``.
        if not any(hasattr(backend, "get_ordering") for backend in view.filter_backends):
            ordering = getattr(view, "ordering", None)
            if ordering:
                return (ordering,) if isinstance(ordering, str) else tuple(ordering)
        return super().get_ordering(request, queryset, view)

    def _wants_numbered_pages(self, request, queryset, view) -> bool:
        if "page" in request.query_params:
            return True
        ordering = self.get_ordering(request, queryset, view)
        allowed = set(getattr(view, "cursor_fields", ("id",)))
        return ordering[0].lstrip("-") not in allowed

    def paginate_queryset(self, queryset, request, view=None):
        if self._wants_numbered_pages(request, queryset, view):
            self._numbered = PageNumberPagination()
            return self._numbered.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self._numbered is not None:
            return self._numbered.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        cursor = super().get_paginated_response_schema(schema)
        cursor["properties"]["count"] = {
            "type": "integer",
            "description": "Only with numbered pages (`?page=`).",
        }
        return cursor

    def get_schema_operation_parameters(self, view):
        numbered = PageNumberPagination().get_schema_operation_parameters(view)
        page = [p for p in numbered if p["name"] == "page"]
        for parameter in page:
            parameter["schema"] = {"type": "integer"}
            parameter["description"] = (
                "Numbered pages instead of a cursor (kept for older clients; slower deep down)."
            )
        return [*super().get_schema_operation_parameters(view), *page]
