"""Platform behaviour for every request under /api/v1/, whichever app's view answers it.

- ``Idempotency-Key`` on every POST: the first answer (status and JSON body) is stored per
  client and key and replayed to a retry; the same key with another body answers 409.
- The one error shape for answers Django gives outside DRF (an unknown address, a server
  error), so a client never has to parse an HTML error page.
"""

from __future__ import annotations

import io
import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from accounts.authentication import usable_key_for
from api.errors import NON_FIELD
from surveys.idempotency import KEY_MAX_LENGTH, IdempotencyConflict, fingerprint, run_idempotent

API_PREFIX = "/api/v1/"
HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

_CODES = {
    # Django refuses a form body past its limits (and other unreadable requests) itself.
    400: (
        "bad_request",
        "The request could not be read. Form bodies are limited to 2.5 MB and 1,000 "
        "fields: send larger requests as JSON.",
    ),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    500: ("server_error", "Something went wrong on our side; try again later."),
}


def error_response(status: int, code: str, errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors, "code": code}, status=status)


def requester_scope(request: HttpRequest) -> str | None:
    """Who sent the request, for keeping idempotency keys apart: ``key:<id>`` for an API
    key, ``user:<id>`` for a signed-in person, None for anyone else (they get a 401)."""
    key = usable_key_for(request)
    if key is not None:
        return f"key:{key.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _request_body(request: HttpRequest) -> bytes:
    """The raw body, kept for the view as ``request.body`` keeps it.

    ``request.body`` refuses a body past ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a limit for
    forms: the API's parsers read larger ones (a bulk batch, a review upload), so a
    request must not be refused only because it carries an Idempotency-Key.
    """
    try:
        return request.body
    except RequestDataTooBig:
        request._body = request.read()
        request._stream = io.BytesIO(request._body)
        return request._body


def _stored_body(response: HttpResponse):
    if getattr(response, "streaming", False) or not response.content:
        return {}
    content = response.content.decode(response.charset or "utf-8", errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            return json.loads(content)
        except ValueError:
            pass
    return content


def _replay(status: int, body) -> HttpResponse:
    if isinstance(body, str):
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    elif status == 204:
        response = HttpResponse(status=status)
    else:
        response = JsonResponse(body, status=status, safe=False)
    response[REPLAYED_HEADER] = "true"
    return response


class ApiPlatformMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        key = request.headers.get(HEADER, "").strip()
        if request.method == "POST" and key:
            response = self._idempotent(request, key)
        else:
            response = self.get_response(request)
        return self._in_error_shape(response)

    def _idempotent(self, request: HttpRequest, key: str) -> HttpResponse:
        if len(key) > KEY_MAX_LENGTH:
            return error_response(
                400, "invalid", {HEADER: [f"Use at most {KEY_MAX_LENGTH} characters."]}
            )
        scope = requester_scope(request)
        if scope is None:
            return self.get_response(request)
        answered: list[HttpResponse] = []

        def run() -> tuple[int, object]:
            response = self.get_response(request)
            answered.append(response)
            return response.status_code, _stored_body(response)

        try:
            outcome = run_idempotent(
                scope=scope,
                key=key,
                request_sha256=fingerprint(
                    request.method,
                    request.path,
                    _request_body(request),
                    request.META.get("CONTENT_TYPE", ""),
                ),
                run=run,
            )
        except IdempotencyConflict:
            return error_response(
                409,
                "idempotency_conflict",
                {
                    HEADER: [
                        "This key was already used for another request (method, address or body differ)."
                    ]
                },
            )
        if outcome.replayed:
            return _replay(outcome.status, outcome.body)
        return answered[0]

    @staticmethod
    def _in_error_shape(response: HttpResponse) -> HttpResponse:
        """Django's own error pages (not DRF's, which carry ``data``) become JSON."""
        if (
            response.status_code < 400
            or hasattr(response, "data")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        code, message = _CODES.get(response.status_code, ("error", response.reason_phrase))
        shaped = error_response(response.status_code, code, {NON_FIELD: [message]})
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                shaped[header] = response[header]
        return shaped
