"""The respondent's side: the public link, the embed and the thank-you page (no login)."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.defaults import page_not_found

from accounts.decorators import permission_required
from accounts.rate_limits import limit_posts_per_ip

from . import services
from .models import Response, Survey
from .question_sets import current_question_set
from .question_types import OTHER, question_type
from .selectors import get_public_survey, get_survey_for_user, survey_to_answer

HONEYPOT_FIELD = "website"
FIELD_PREFIX = "q_"


def answers_from_post(questions, post) -> dict:
    """The answers dict ``submit_response`` takes, from the respondent form's fields."""
    answers: dict = {}
    for question in questions:
        name = FIELD_PREFIX + question.key
        family = question_type(question.kind).family
        other = post.get(f"{name}__other", "").strip()
        if family == "multiple":
            picked = [v for v in post.getlist(name) if v]
            if picked or other:
                answers[question.key] = (
                    {"choices": picked, "other": other} if question.allow_other else picked
                )
        elif family == "choice" and question.allow_other:
            choice = post.get(name, "")
            if choice or other:
                answers[question.key] = {
                    "choice": choice or OTHER,
                    "other": other if choice in ("", OTHER) else "",
                }
        else:
            value = post.get(name, "")
            if value.strip():
                answers[question.key] = value
    return answers


def form_fields(questions, post=None, errors=None) -> list[dict]:
    """What the template needs to draw each question, with the values typed so far."""
    errors = errors or {}
    fields = []
    for question in questions:
        qtype = question_type(question.kind)
        name = FIELD_PREFIX + question.key
        if post is not None:
            values = post.getlist(name)
            other = post.get(f"{name}__other", "")
        else:
            values, other = [], ""
        fields.append(
            {
                "question": question,
                "type": qtype,
                "name": name,
                "points": [{"value": p, "label": qtype.point_label(p)} for p in qtype.points],
                "values": values,
                "value": values[0] if values else "",
                "other": other,
                "other_label": OTHER,
                "errors": errors.get(question.key, []),
            }
        )
    return fields


def logic_payload(questions) -> list[dict]:
    """The rules ``static/js/survey_form.js`` evaluates to show and hide questions."""
    return [
        {
            "key": q.key,
            "kind": q.kind,
            "show_if": q.show_if or {},
            "end_if": q.end_if or {},
        }
        for q in questions
    ]


def _started_at(raw: str):
    parsed = parse_datetime(raw or "")
    now = timezone.now()
    if (
        parsed is None
        or timezone.is_naive(parsed)
        or parsed > now
        or parsed < now - dt.timedelta(days=2)
    ):
        return None
    return parsed


def rate_limited_context(questions, post) -> dict:
    """The form context for a POST refused by the rate limit: the answers are kept."""
    return {
        "fields": form_fields(questions, post),
        "rate_limited": True,
        "client_uuid": post.get("client_uuid", ""),
        "started_at": post.get("started_at", ""),
    }


def invalid_context(questions, post, exc: ValidationError) -> dict:
    """The form context for answers ``submit_response`` refused: errors by question, the
    rest above the form. A bad ``client_uuid`` is not the respondent's doing (an old or
    altered page): the form says so and carries a new one, so sending it again works
    (nothing was stored with the bad one)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    stale = "client_uuid" in errors
    errors = {k: v for k, v in errors.items() if k != "client_uuid"}
    keys = {q.key for q in questions}
    return {
        "fields": form_fields(questions, post, errors),
        "form_errors": [m for k, ms in errors.items() if k not in keys for m in ms],
        "has_errors": bool(errors),
        "stale_form": stale,
        "client_uuid": str(uuid.uuid4()) if stale else post.get("client_uuid", ""),
        "started_at": post.get("started_at", ""),
    }


def allow_framing(response):
    """Let other sites frame this response (the survey embed): no X-Frame-Options, and a
    Content-Security-Policy frame-ancestors of ``SURVEY_EMBED_ORIGINS``."""
    response.xframe_options_exempt = True
    response._csp_replace = {"frame-ancestors": settings.SURVEY_EMBED_ORIGINS}
    return response


def framable(view):
    """``allow_framing`` on every answer of ``view``, its 404 page included (a draft or
    unknown survey must say so inside the frame, not show "refused to connect")."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404 as exc:
            response = page_not_found(request, exc)
        return allow_framing(response)

    return wrapped


def _closed_page(request, survey, exc, embed):
    not_yet = "not open yet" in " ".join(exc.messages)
    opens_at = survey.opens_at if not_yet and survey.opens_at else None
    response = render(
        request,
        "surveys/respond_closed.html",
        {
            "survey": survey,
            "message": exc.messages[0],
            "opens_at": opens_at,
            "layout": _layout(embed),
            "embed": embed,
        },
        status=200 if not_yet else 410,
    )
    if embed:
        allow_framing(response)
    return response


def _layout(embed: bool) -> str:
    return "surveys/_embed_layout.html" if embed else "base.html"


def _respond(request, slug: str, embed: bool):
    survey = survey_to_answer(slug)
    questions = current_question_set(survey).questions
    channel = Response.Channel.EMBED if embed else Response.Channel.LINK
    context = {
        "survey": survey,
        "layout": _layout(embed),
        "embed": embed,
        "logic": logic_payload(questions),
        # ``?embed=1`` posts to the embed route too: only that one is reachable cross-site.
        "action": reverse("surveys:embed", args=[slug]) if embed else request.get_full_path(),
        "honeypot": HONEYPOT_FIELD,
    }
    status = 200
    if request.method == "POST":
        if getattr(request, "limited", False):
            context.update(rate_limited_context(questions, request.POST))
            status = 429
        elif request.POST.get(HONEYPOT_FIELD):
            return redirect(_thanks_url(survey, embed))
        else:
            try:
                services.submit_response(
                    survey=survey,
                    answers=answers_from_post(questions, request.POST),
                    channel=channel,
                    client_uuid=request.POST.get("client_uuid") or None,
                    started_at=_started_at(request.POST.get("started_at", "")),
                )
            except (services.SurveyClosed, services.QuotaReached) as exc:
                return _closed_page(request, survey, exc, embed)
            except ValidationError as exc:
                context.update(invalid_context(questions, request.POST, exc))
                status = 400
            else:
                return redirect(_thanks_url(survey, embed))
    else:
        try:
            services.check_accepting(survey)
            services.check_quota(survey)
        except (services.SurveyClosed, services.QuotaReached) as exc:
            return _closed_page(request, survey, exc, embed)
        context.update(
            fields=form_fields(questions),
            client_uuid=str(uuid.uuid4()),
            started_at=timezone.now().isoformat(),
        )
    response = render(request, "surveys/respond.html", context, status=status)
    if embed:
        allow_framing(response)
    return response


def _thanks_url(survey: Survey, embed: bool) -> str:
    url = reverse("surveys:thanks", args=[survey.slug])
    return f"{url}?embed=1" if embed else url


@require_http_methods(["GET", "POST"])
@limit_posts_per_ip("FEEDBACK_FORM_RATE")
def respond(request, slug: str):
    return _respond(request, slug, embed=request.GET.get("embed") == "1")


# No CSRF check: a page of another site frames the embed, and the browser does not send
# the SameSite=Lax csrftoken cookie from there. Nothing here acts for a signed-in user
# (the form is anonymous); the honeypot, the per-IP limit and client_uuid still apply.
@csrf_exempt
@framable
@require_http_methods(["GET", "POST"])
@limit_posts_per_ip("FEEDBACK_FORM_RATE")
def embed(request, slug: str):
    return _respond(request, slug, embed=True)


@framable
def thanks(request, slug: str):
    survey = get_public_survey(slug)
    embed_mode = request.GET.get("embed") == "1"
    return render(
        request,
        "surveys/thanks.html",
        {"survey": survey, "layout": _layout(embed_mode), "embed": embed_mode},
    )


@permission_required("surveys.view_survey")
def preview(request, pk: int):
    """The respondent form as it will look; submitting only re-validates, nothing is stored."""
    survey = get_survey_for_user(request.user, pk)
    questions = survey.current_questions
    context = {
        "survey": survey,
        "layout": "base.html",
        "preview": True,
        "logic": logic_payload(questions),
        "action": reverse("surveys:preview", args=[survey.pk]),
        "honeypot": HONEYPOT_FIELD,
        "fields": form_fields(questions),
    }
    if request.method == "POST":
        plain = [services.question_dict(q) for q in questions]
        try:
            services.clean_answers(plain, answers_from_post(questions, request.POST))
        except ValidationError as exc:
            context["fields"] = form_fields(questions, request.POST, exc.message_dict)
            context["has_errors"] = True
        else:
            context["fields"] = form_fields(questions, request.POST)
            context["preview_ok"] = True
    return render(request, "surveys/respond.html", context)
