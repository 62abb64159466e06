"""Kiosk mode: the full-screen collection page, its sync endpoint and its service worker."""

from __future__ import annotations

import json

from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import permission_required

from . import kiosk
from .selectors import get_survey_for_user

SYNC_BODY_MAX_BYTES = 2_000_000


@permission_required("surveys.collect_responses")
@require_GET
@ensure_csrf_cookie
def kiosk_page(request, pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.collect_responses")
    config = {
        "survey": {"id": survey.pk, "title": survey.title, "slug": survey.slug},
        "questions": kiosk.question_definitions(survey),
        "syncUrl": reverse("surveys:kiosk_sync", args=[survey.pk]),
        "workerUrl": reverse("surveys:kiosk_worker", args=[survey.pk]),
        "collectedBy": request.user.get_username(),
        "thankYou": survey.thank_you_message or "Thank you for your feedback!",
        "accepting": survey.accepts_responses_at(),
        "cacheUrls": static_urls_for_kiosk(),
    }
    response = render(request, "surveys/kiosk.html", {"survey": survey, "config": config})
    # The service worker keeps its own copy for offline reloads; browsers must not.
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _error(status: int, message: str, fields: dict | None = None) -> JsonResponse:
    body = {"detail": message}
    if fields:
        body["errors"] = fields
    return JsonResponse(body, status=status)


@require_POST
def kiosk_sync(request, pk: int):
    """JSON ``{responses: [{client_uuid, answers, submitted_at, started_at}]}`` →
    ``{results: [{client_uuid, status: stored|duplicate|refused, reason, messages}]}``.

    An API-style endpoint: unauthenticated gets 401 (not a login redirect the kiosk
    script would mistake for success), without the permission 403. Session auth and the
    CSRF header are checked by Django's middleware before this runs.
    """
    if not request.user.is_authenticated:
        return _error(401, "Sign in again to sync the queued responses.")
    if not request.user.has_perm("surveys.collect_responses"):
        return _error(403, "You may not collect responses.")
    try:
        survey = get_survey_for_user(request.user, pk, "surveys.collect_responses")
    except Http404:
        return _error(404, "No such survey.")
    if len(request.body) > SYNC_BODY_MAX_BYTES:
        return _error(413, "Send fewer responses per request.")
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, "The body must be JSON.")
    if not isinstance(payload, dict) or "responses" not in payload:
        return _error(400, 'Send {"responses": [...]}.', {"responses": ["This field is required."]})
    try:
        results = kiosk.sync_kiosk_responses(
            survey=survey, items=payload["responses"], collected_by=request.user
        )
    except ValidationError as exc:
        return _error(400, "The batch was not accepted.", exc.message_dict)
    counts = {status: 0 for status in (kiosk.STORED, kiosk.DUPLICATE, kiosk.REFUSED)}
    for result in results:
        counts[result.status] += 1
    return JsonResponse({"results": [r.as_dict() for r in results], "counts": counts})


@permission_required("surveys.collect_responses")
@require_GET
def kiosk_worker(request, pk: int):
    """The kiosk's service worker, served under the kiosk's URL so its scope covers the
    page (a script under /static/ could only control /static/)."""
    get_survey_for_user(request.user, pk, "surveys.collect_responses")
    path = finders.find("js/kiosk_sw.js")
    if not path:
        raise Http404
    with open(path, encoding="utf-8") as handle:
        script = handle.read()
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, no_cache=True, private=True)
    response["Service-Worker-Allowed"] = reverse("surveys:kiosk", args=[pk])
    return response


def static_urls_for_kiosk() -> list[str]:
    """Static files the kiosk page needs offline (listed in the page for the worker)."""
    from django.templatetags.static import static

    return [static(p) for p in ("css/app.css", "css/kiosk.css", "js/kiosk.js")]
