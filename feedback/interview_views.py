"""Interview pages: the list, the interview form and the transcript with its highlights."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required

from . import interviews as services
from .channel_forms import HighlightForm, InterviewForm
from .models import InterviewHighlight
from .research import research_consent_warning
from .selectors import get_interview_for_user, interview_highlights, interview_list

PAGE_SIZE = 25
VIEW = "feedback.view_interview"
ADD = "feedback.add_interview"
CHANGE = "feedback.change_interview"


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@permission_required(VIEW)
def interviews(request):
    page = Paginator(interview_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "feedback/interview_list.html", {"page": page})


def _interview_values(form) -> dict:
    """The form's values for the service; an uploaded file replaces the pasted text."""
    data = form.cleaned_data
    values = {name: data[name] for name in services.INTERVIEW_FIELDS if name in data}
    upload = data.get("transcript_file")
    if upload:
        values["transcript"], values["transcript_name"] = services.read_transcript_upload(upload)
    return values


def _save(request, form, interview=None):
    """Validate and save through the service; the interview (with a success message and a
    warning when the customer has not consented to research) or None (errors on the form)."""
    if not form.is_valid():
        return None
    try:
        interview = services.save_interview(interview=interview, **_interview_values(form))
    except ValidationError as exc:
        form.add_service_errors(exc)
        return None
    messages.success(request, "Interview saved.")
    warning = research_consent_warning([interview.customer])
    if warning:
        messages.warning(request, warning)
    return interview


@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def interview_create(request):
    if request.method == "POST":
        form = InterviewForm(request.POST, request.FILES)
        interview = _save(request, form)
        if interview is not None:
            return redirect("feedback:interview_detail", pk=interview.pk)
        status = 400
    else:
        form, status = InterviewForm(initial={"interviewer": request.user.pk}), 200
    return render(
        request, "feedback/interview_form.html", {"form": form, "interview": None}, status=status
    )


@permission_required(CHANGE)
@require_http_methods(["GET", "POST"])
def interview_edit(request, pk: int):
    interview = get_interview_for_user(request.user, pk)
    if request.method == "POST":
        form = InterviewForm(request.POST, request.FILES)
        if _save(request, form, interview) is not None:
            return redirect("feedback:interview_detail", pk=interview.pk)
        status = 400
    else:
        form = InterviewForm(
            initial={
                "customer": interview.customer_id,
                "interviewer": interview.interviewer_id,
                "conducted_at": interview.conducted_at,
                "product": interview.product_id,
                "guide_questions": interview.guide_questions,
                "notes": interview.notes,
                "transcript": interview.transcript,
            }
        )
        status = 200
    return render(
        request,
        "feedback/interview_form.html",
        {"form": form, "interview": interview},
        status=status,
    )


def transcript_segments(transcript: str, ranges: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The transcript cut into (text, highlighted) pieces; overlapping ranges merge."""
    segments, position = [], 0
    for start, end in sorted(ranges):
        start, end = max(start, position), min(end, len(transcript))
        if end <= start:
            continue
        if start > position:
            segments.append((transcript[position:start], False))
        segments.append((transcript[start:end], True))
        position = end
    if position < len(transcript):
        segments.append((transcript[position:], False))
    return segments


def _render_interview(request, interview, form, status=200):
    highlights = list(interview_highlights(interview))
    return render(
        request,
        "feedback/interview_detail.html",
        {
            "interview": interview,
            "highlights": highlights,
            "segments": transcript_segments(
                interview.transcript, [(h.start, h.end) for h in highlights]
            ),
            "form": form,
            "can_change": request.user.has_perm(CHANGE),
        },
        status=status,
    )


@permission_required(VIEW)
def interview_detail(request, pk: int):
    interview = get_interview_for_user(request.user, pk)
    return _render_interview(request, interview, HighlightForm())


@permission_required(CHANGE)
@require_POST
def interview_highlight_add(request, pk: int):
    interview = get_interview_for_user(request.user, pk)
    form = HighlightForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            highlight = services.add_interview_highlight(
                interview=interview,
                excerpt=data["excerpt"],
                start=data["start"],
                tags=data["tags"],
                author=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if _wants_json(request):
                highlight = interview_highlights(interview).get(pk=highlight.pk)
                row = render_to_string(
                    "feedback/_interview_highlight.html",
                    {"highlight": highlight, "interview": interview, "can_change": True},
                    request=request,
                )
                return JsonResponse(
                    {
                        "id": highlight.pk,
                        "feedback_id": highlight.feedback_id,
                        "start": highlight.start,
                        "end": highlight.end,
                        "html": row,
                    },
                    status=201,
                )
            messages.success(request, "Highlight kept as feedback.")
            return redirect("feedback:interview_detail", pk=interview.pk)
    if _wants_json(request):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return _render_interview(request, interview, form, status=400)


@permission_required(CHANGE)
@require_POST
def interview_highlight_delete(request, pk: int, highlight_pk: int):
    interview = get_interview_for_user(request.user, pk)
    highlight = get_object_or_404(InterviewHighlight, pk=highlight_pk, interview=interview)
    services.delete_interview_highlight(highlight=highlight)
    messages.success(request, "Highlight removed.")
    return redirect("feedback:interview_detail", pk=interview.pk)
