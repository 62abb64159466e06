"""The API reference as Redoc, served from this site (no CDN, works offline)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView

# Redoc styles itself with <style> elements it writes at run time and searches in a
# worker it starts from a blob: URL; the page loads no script but its own bundle.
REDOC_CSP = {"style-src": ["'self'", "'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}


class RedocView(SpectacularRedocView):
    """``/api/v1/redoc/``: the schema at ``/api/v1/schema/``, readable by anyone (it names
    endpoints and fields, no data), like the Swagger UI at ``/api/v1/docs/``."""

    permission_classes = []
    url_name = "api:schema"
    template_name = "api/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response._csp_update = REDOC_CSP
        return response
