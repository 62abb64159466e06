"""OpenAPI additions for what the platform gives every endpoint."""

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


def document_platform_headers(result, generator, request, public):
    """Add the Idempotency-Key header to every POST operation."""
    for operations in result.get("paths", {}).values():
        post = operations.get("post")
        if post is None:
            continue
        parameters = post.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(IDEMPOTENCY_PARAMETER)
    return result
