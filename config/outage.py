"""A database outage answers 503 with Retry-After, never a 500 or a hang.

While PostgreSQL restarts or is unreachable, a view (or a middleware) raises
``OperationalError``/``InterfaceError``; the client should learn that it may try again in a
moment: 503 with ``Retry-After``, in the API's error shape under /api/, a short page
elsewhere. Connections are health-checked before reuse, so requests succeed again as soon
as the database is back, without restarting the web processes.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.defaults import server_error

logger = logging.getLogger("django.request")

RETRY_AFTER_SECONDS = 5
MESSAGE = "FocusLoop is briefly unavailable; please try again in a moment."
OUTAGE_ERRORS = (OperationalError, InterfaceError)


def outage_response(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"errors": {"non_field_errors": [MESSAGE]}, "code": "service_unavailable"},
            status=503,
        )
    else:
        response = HttpResponse(
            "<!doctype html><title>Service unavailable</title>"
            f"<h1>Service unavailable</h1><p>{MESSAGE}</p>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Views that fail because the database is unreachable answer 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        logger.warning(
            "database unavailable (%s): %s %s",
            type(exception).__name__,
            request.method,
            request.path,
        )
        return outage_response(request)


def handler500(request):
    """Errors raised outside views (in a middleware) reach here: an outage is still a 503."""
    if isinstance(sys.exc_info()[1], OUTAGE_ERRORS):
        return outage_response(request)
    return server_error(request)
