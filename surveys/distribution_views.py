"""Pages that hand a survey out: invitations, share (link, QR code, embed snippet)."""

from __future__ import annotations

import hashlib
import io
import uuid
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import quote_etag
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import permission_required
from accounts.rate_limits import limit_posts_per_ip

from . import distribution, respond_views, services
from .forms_distribution import AudienceForm
from .models import Invitation, Response
from .selectors import get_public_survey, get_survey_for_user

INVITATIONS_PAGE_SIZE = 50
QR_CACHE_SECONDS = 3600


# ---------------------------------------------------------------------------------------
# Invitations


@permission_required("surveys.view_invitation")
@require_http_methods(["GET", "POST"])
def invitations(request, pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.view_invitation")
    can_send = request.user.has_perm("surveys.send_invitations")
    form = AudienceForm()
    report = None
    status = 200
    if request.method == "POST":
        if not can_send:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "remind":
            return _remind(request, survey)
        if action == "resend":
            return _resend(request, survey)
        form = AudienceForm(request.POST)
        if form.is_valid():
            customers, unknown = distribution.select_customers(form.audience())
            try:
                if action == "send":
                    report = distribution.invite_customers(
                        survey=survey, customers=customers, sent_by=request.user
                    )
                    messages.success(request, _report_message(report, unknown))
                    return redirect("surveys:invitations", pk=survey.pk)
                report = distribution.preview_invitations(survey=survey, customers=customers)
                report.unknown_emails = unknown
            except ValidationError as exc:
                form.add_error(None, exc)
                status = 400
        else:
            status = 400
    stats = distribution.invitation_stats(survey)
    status_filter = request.GET.get("status", "")
    if status_filter not in Invitation.Status.values:
        status_filter = ""
    page = Paginator(distribution.invitation_list(survey, status_filter), INVITATIONS_PAGE_SIZE)
    return render(
        request,
        "surveys/invitations.html",
        {
            "survey": survey,
            "form": form,
            "report": report,
            "stats": stats,
            "status_filter": status_filter,
            "query": urlencode({"status": status_filter}) if status_filter else "",
            "statuses": Invitation.Status.choices,
            "page": page.get_page(request.GET.get("page")),
            "can_send": can_send,
            "accepting": survey.accepts_responses_at(),
            "reminders_due": distribution.reminders_due(survey).count(),
            "reminder_gap_days": distribution.reminder_gap_days(),
            "reminder_limit": distribution.reminder_limit(),
        },
        status=status,
    )


def _report_message(report: distribution.InvitationReport, unknown: list[str]) -> str:
    parts = [f"{report.invited} invitation{'s' if report.invited != 1 else ''} queued for sending."]
    skipped = [
        (report.already_invited, "already invited"),
        (report.no_email, "without an email address"),
        (report.no_consent, "without consent to be invited"),
        (
            len(unknown),
            ngettext(
                "pasted address that matches no customer",
                "pasted addresses that match no customer",
                len(unknown),
            ),
        ),
    ]
    details = [f"{n} {label}" for n, label in skipped if n]
    if details:
        parts.append("Skipped: " + "; ".join(details) + ".")
    return " ".join(parts)


def _remind(request, survey):
    try:
        count = distribution.send_reminders(survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if count:
            messages.success(request, f"{count} reminder{'s' if count != 1 else ''} queued.")
        else:
            messages.info(request, "No invitation is due a reminder right now.")
    return redirect("surveys:invitations", pk=survey.pk)


def _resend(request, survey):
    try:
        count = distribution.resend_failed(survey=survey)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{count} invitation{'s' if count != 1 else ''} queued again.")
    return redirect("surveys:invitations", pk=survey.pk)


# ---------------------------------------------------------------------------------------
# Share: link, QR code, embed


@permission_required("surveys.view_survey")
@require_GET
def share(request, pk: int):
    survey = get_survey_for_user(request.user, pk)
    public_url = distribution.public_url(survey, request)
    embed_url = distribution.embed_url(survey, request)
    return render(
        request,
        "surveys/share.html",
        {
            "survey": survey,
            "public_url": public_url,
            "embed_url": embed_url,
            "embed_snippet": distribution.embed_snippet(survey, request),
        },
    )


def _qr(url: str):
    return segno.make(url, error="m", micro=False)


def _qr_svg(url: str, scale: int = 6) -> str:
    buffer = io.BytesIO()
    _qr(url).save(
        buffer, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title="QR code"
    )
    return buffer.getvalue().decode()


def _qr_response(request, survey, kind: str) -> HttpResponse:
    url = distribution.public_url(survey, request)
    etag = quote_etag(hashlib.sha256(f"{kind}:{url}".encode()).hexdigest()[:32])
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        if kind == "png":
            buffer = io.BytesIO()
            _qr(url).save(buffer, kind="png", scale=12, border=4)
            response = HttpResponse(buffer.getvalue(), content_type="image/png")
        else:
            svg = '<?xml version="1.0" encoding="utf-8"?>\n' + _qr_svg(url, scale=10)
            response = HttpResponse(svg, content_type="image/svg+xml")
        disposition = "attachment" if request.GET.get("download") else "inline"
        response["Content-Disposition"] = (
            f'{disposition}; filename="survey-{survey.slug}-qr.{kind}"'
        )
    response["ETag"] = etag
    # The image follows the slug and the site address, both rarely changed: an hour in the
    # browser's private cache, revalidated by ETag after that.
    patch_cache_control(response, private=True, max_age=QR_CACHE_SECONDS)
    return response


@permission_required("surveys.view_survey")
@require_GET
def qr_png(request, pk: int):
    return _qr_response(request, get_survey_for_user(request.user, pk), "png")


@permission_required("surveys.view_survey")
@require_GET
def qr_svg(request, pk: int):
    return _qr_response(request, get_survey_for_user(request.user, pk), "svg")


# ---------------------------------------------------------------------------------------
# Answering through an invitation link (no login: the token is the credential)


def _link_error_page(request, survey, exc: distribution.InvitationLinkError) -> HttpResponse:
    response = render(
        request,
        "surveys/invitation_invalid.html",
        {"survey": survey, "title": exc.title, "message": exc.message},
        status=exc.status,
    )
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    # The URL holds a personal token: keep it out of shared caches and search engines.
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _closed(request, survey, exc: ValidationError) -> HttpResponse:
    response = render(
        request,
        "surveys/respond_closed.html",
        {"survey": survey, "message": exc.messages[0], "layout": "base.html", "embed": False},
        status=410,
    )
    return _private(response)


# The POST is signed by the link itself (and comes without a CSRF token from mail clients'
# one-click unsubscribe, RFC 8058); it can only withdraw a consent, never give one.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@limit_posts_per_ip("FEEDBACK_FORM_RATE")
def opt_out(request, token: str):
    """The opt-out link of invitation emails: GET asks, POST withdraws the customer's
    consent to be invited (no invitation or reminder is sent to them afterwards)."""
    customer = distribution.customer_from_opt_out_token(token)
    if customer is None:
        response = render(
            request,
            "surveys/invitation_invalid.html",
            {
                "title": "This opt-out link is not valid",
                "message": "Check that you opened the whole link from your email.",
            },
            status=404,
        )
        return _private(response)
    done = request.method == "POST"
    if done:
        distribution.opt_out(customer=customer)
    response = render(
        request,
        "surveys/opt_out.html",
        {"done": done or not customer.consent_research, "token": token},
    )
    return _private(response)


@require_http_methods(["GET", "POST"])
@limit_posts_per_ip("FEEDBACK_FORM_RATE")
def invitation_answer(request, slug: str, token: str):
    """The survey form reached from an invitation email; the response is linked to the
    invited customer (channel email). A forged, reused, expired or other survey's token
    gets a 404/410 page and stores nothing."""
    survey = get_public_survey(slug)
    try:
        invitation = distribution.resolve_invitation(survey=survey, token=token)
    except distribution.InvitationLinkError as exc:
        return _link_error_page(request, survey, exc)
    questions = survey.current_questions
    context = {
        "survey": survey,
        "layout": "base.html",
        "embed": False,
        "logic": respond_views.logic_payload(questions),
        "action": request.path,
        "honeypot": respond_views.HONEYPOT_FIELD,
        "invitation": invitation,
    }
    status = 200
    if request.method == "POST":
        if getattr(request, "limited", False):
            context.update(respond_views.rate_limited_context(questions, request.POST))
            status = 429
        elif request.POST.get(respond_views.HONEYPOT_FIELD):
            return redirect("surveys:thanks", survey.slug)
        else:
            try:
                services.submit_response(
                    survey=survey,
                    answers=respond_views.answers_from_post(questions, request.POST),
                    channel=Response.Channel.EMAIL,
                    invitation=invitation,
                    client_uuid=request.POST.get("client_uuid") or None,
                    started_at=respond_views._started_at(request.POST.get("started_at", "")),
                )
            except (services.SurveyClosed, services.QuotaReached) as exc:
                return _closed(request, survey, exc)
            except services.InvitationUsed:
                return _link_error_page(
                    request,
                    survey,
                    distribution.InvitationLinkError(
                        410,
                        "You have already answered this survey",
                        "Thank you! Each invitation can be used once, and yours has been.",
                    ),
                )
            except ValidationError as exc:
                context.update(respond_views.invalid_context(questions, request.POST, exc))
                status = 400
            else:
                return redirect("surveys:thanks", survey.slug)
    else:
        try:
            services.check_accepting(survey)
            services.check_quota(survey)
        except (services.SurveyClosed, services.QuotaReached) as exc:
            return _closed(request, survey, exc)
        distribution.mark_opened(invitation=invitation)
        context.update(
            fields=respond_views.form_fields(questions),
            client_uuid=str(uuid.uuid4()),
            started_at=timezone.now().isoformat(),
        )
    return _private(render(request, "surveys/respond.html", context, status=status))
