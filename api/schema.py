"""OpenAPI additions for what the platform gives every endpoint.

Every operation answers errors in one shape (``api.errors``), documented once as the
``Error`` component, and the statuses the platform itself may add are documented on
every operation they apply to, so a client (and the schemathesis run in the tests) can
rely on the document naming every status it will see.
"""

from __future__ import annotations

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": (
        "Optional. Retrying with the same key and body returns the first answer (status and "
        "body, with `Idempotent-Replayed: true`); the same key with another body answers 409 "
        "(code `idempotency_conflict`). Keys are per API key or person and held 24 hours."
    ),
}

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of the API: messages per field, and a code.",
    "properties": {
        "errors": {
            "type": "object",
            "description": (
                "Messages per input field (`field.sub` for nested ones); messages about "
                "the request as a whole under `non_field_errors`."
            ),
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "code": {
            "type": "string",
            "description": (
                "What went wrong, for programs: `invalid`, `duplicate`, "
                "`idempotency_conflict`, `not_authenticated`, `authentication_failed`, "
                "`permission_denied`, `not_found`, `throttled`, or a code of the endpoint."
            ),
        },
    },
    "required": ["errors", "code"],
}
ERROR_CONTENT = {
    "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
}

WRITE_METHODS = {"post", "put", "patch", "delete"}
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
# Query parameters of a paginated list: an unknown page or a forged cursor answers 404.
PAGE_PARAMETERS = {"page", "cursor"}

STATUS_DESCRIPTIONS = {
    "400": "Invalid input (code `invalid`): messages per field.",
    "401": "No credentials, or an invalid, revoked or expired API key.",
    "403": "The API key lacks the endpoint's scope, or the person its permission.",
    "404": (
        "No such object (or none the caller may see), or a page or cursor that does not exist."
    ),
    "409": (
        "Conflict: the row exists already (code `duplicate`), the object's state forbids the "
        "change, or an `Idempotency-Key` reused with another body (`idempotency_conflict`)."
    ),
    "429": "Too many requests for this key, person or address (code `throttled`).",
}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


def _error_statuses(path: str, method: str, operation: dict) -> list[str]:
    """The error statuses an operation may answer besides those it documents itself."""
    query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    statuses = ["401", "403", "429"]
    if method in WRITE_METHODS or query:
        statuses.append("400")
    if "{" in path or query & PAGE_PARAMETERS:
        statuses.append("404")
    if method in WRITE_METHODS:
        statuses.append("409")
    return sorted(statuses)


def _document_errors(path: str, method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for status in _error_statuses(path, method, operation):
        response = responses.setdefault(status, {"description": STATUS_DESCRIPTIONS[status]})
        if not response.get("description"):
            response["description"] = STATUS_DESCRIPTIONS[status]
        response.setdefault("content", ERROR_CONTENT)
        if status == "429":
            response.setdefault("headers", RETRY_AFTER_HEADER)
    for status, response in responses.items():
        if status.startswith("4") and "content" not in response:
            response["content"] = ERROR_CONTENT


def document_platform_headers(result, generator, request, public):
    """Add the Idempotency-Key header to every POST, the ``Error`` component, and the
    error statuses of authentication, scopes, throttling, validation, missing objects and
    conflicts to every operation they apply to."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            _document_errors(path, method, operation)
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_PARAMETER)
    return result
