"""Builder, lifecycle, results and exports pages for staff (read) and managers (edit)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required

from . import exports, results, services
from .forms import OP_LABELS, QuestionForm, QuestionOrderForm, SurveyForm, service_errors_to_form
from .models import Question
from .question_types import QUESTION_TYPES
from .selectors import (
    all_questions,
    get_survey_for_user,
    invitation_counts,
    response_rows,
    results_summaries,
    survey_list,
)


@permission_required("surveys.view_survey")
def survey_index(request):
    return render(request, "surveys/list.html", {"surveys": survey_list()})


@permission_required("surveys.add_survey")
@require_http_methods(["GET", "POST"])
def survey_new(request):
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.create_survey(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Survey created. Add its questions.")
            return redirect("surveys:detail", pk=survey.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "surveys/new.html", {"form": form}, status=status)


def _condition(rule: dict) -> str:
    """A rule's operator and value in words ("is at most 6", "is one of Pro, Team")."""
    op, value = rule.get("op"), rule.get("value")
    if op == "in":
        listed = value if isinstance(value, list) else [value]
        return "is one of " + ", ".join(str(v) for v in listed)
    return f"{OP_LABELS.get(op, op)} {value}"


def _logic_summary(question: Question) -> str:
    parts = []
    rule = question.show_if or {}
    if rule:
        if rule["op"] == "answered":
            answered = rule.get("value") is not False
            condition = "is answered" if answered else "is not answered"
        else:
            condition = _condition(rule)
        parts.append(f"Shown when {rule['question']} {condition}")
    end = question.end_if or {}
    if end:
        if end["op"] == "answered":
            parts.append(
                "Ends the survey once answered"
                if end.get("value") is not False
                else "Ends the survey when left unanswered"
            )
        else:
            parts.append(f"Ends the survey when the answer {_condition(end)}")
    return ". ".join(parts)


@permission_required("surveys.view_survey")
@require_http_methods(["GET", "POST"])
def survey_detail(request, pk: int):
    """The builder: settings, questions and their logic, lifecycle buttons."""
    survey = get_survey_for_user(request.user, pk)
    can_edit = request.user.has_perm("surveys.change_survey")
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = SurveyForm(request.POST, survey=survey)
        if form.is_valid():
            try:
                services.update_survey(survey=survey, **form.cleaned_data)
            except ValidationError as exc:
                service_errors_to_form(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("surveys:detail", pk=survey.pk)
    else:
        form = SurveyForm(initial=SurveyForm.initial_for(survey), survey=survey)
    questions = survey.current_questions
    archived = [q for q in all_questions(survey) if q.archived_at]
    context = {
        "survey": survey,
        "form": form,
        "can_edit": can_edit,
        "questions": [
            {"q": q, "logic": _logic_summary(q), "type": QUESTION_TYPES[q.kind]} for q in questions
        ],
        "archived": archived,
        "response_count": survey.responses.count(),
    }
    return render(request, "surveys/builder.html", context, status=400 if form.errors else 200)


@permission_required("surveys.change_survey")
@require_POST
def survey_transition(request, pk: int, action: str):
    survey = get_survey_for_user(request.user, pk, "surveys.change_survey")
    service = {"open": services.open_survey, "close": services.close_survey}.get(action)
    if service is None:
        return HttpResponse(status=404)
    try:
        service(survey=survey)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Survey opened." if action == "open" else "Survey closed.")
    return redirect("surveys:detail", pk=survey.pk)


def _question_page(request, survey, form, question=None, status=200):
    return render(
        request,
        "surveys/question_form.html",
        {
            "survey": survey,
            "form": form,
            "question": question,
            "kinds": {
                k: {"family": t.family, "ops": list(t.ops)} for k, t in QUESTION_TYPES.items()
            },
            "earlier_kinds": {q.key: q.kind for q in form.earlier},
        },
        status=status,
    )


@permission_required("surveys.add_question")
@require_http_methods(["GET", "POST"])
def question_new(request, pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.add_question")
    earlier = survey.current_questions
    form = QuestionForm(request.POST or None, earlier=earlier)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_question(
                survey=survey, key=form.cleaned_data.get("key") or "", **form.service_kwargs()
            )
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, "Question added.")
            return redirect("surveys:detail", pk=survey.pk)
    return _question_page(request, survey, form, status=400 if form.errors else 200)


def _current_question_or_message(request, survey, question_pk: int) -> Question | None:
    """The current question, or None with the reason as a message: a builder page loaded
    before another manager deleted or replaced the question is sent back to the builder
    with what happened, not to a "page not found"."""
    try:
        return services.current_question(survey=survey, pk=question_pk)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return None


@permission_required("surveys.change_question")
@require_http_methods(["GET", "POST"])
def question_edit(request, pk: int, question_pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.change_question")
    question = _current_question_or_message(request, survey, question_pk)
    if question is None:
        return redirect("surveys:detail", pk=survey.pk)
    earlier = [q for q in survey.current_questions if q.position < question.position]
    form = QuestionForm(
        request.POST or None,
        earlier=earlier,
        editing=True,
        initial=QuestionForm.initial_for(question),
    )
    if request.method == "POST" and form.is_valid():
        try:
            current = services.update_question(question=question, **form.service_kwargs())
        except ValidationError as exc:
            service_errors_to_form(form, exc)
        else:
            if current.pk != question.pk:
                messages.success(
                    request,
                    f"The question had answers, so the change was saved as a new version "
                    f"“{current.key}”; earlier answers stay with “{question.key}”.",
                )
            else:
                messages.success(request, "Question saved.")
            return redirect("surveys:detail", pk=survey.pk)
    return _question_page(request, survey, form, question, status=400 if form.errors else 200)


QUESTION_ACTIONS = {
    "delete": "surveys.delete_question",
    "duplicate": "surveys.add_question",
    "up": "surveys.change_question",
    "down": "surveys.change_question",
}


@permission_required("surveys.view_survey")
@require_POST
def question_action(request, pk: int, question_pk: int, action: str):
    perm = QUESTION_ACTIONS.get(action)
    if perm is None:
        return HttpResponse(status=404)
    survey = get_survey_for_user(request.user, pk, perm)
    question = _current_question_or_message(request, survey, question_pk)
    if question is None:
        return redirect("surveys:detail", pk=survey.pk)
    try:
        if action == "delete":
            had_answers = question.answers.exists()
            services.delete_question(question=question)
            messages.success(
                request,
                "Question archived: its answers stay in results and exports."
                if had_answers
                else "Question deleted.",
            )
        elif action == "duplicate":
            copy = services.duplicate_question(question=question)
            messages.success(request, f"Question duplicated as “{copy.key}”.")
        else:
            services.move_question(question=question, offset=-1 if action == "up" else 1)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(reverse("surveys:detail", args=[survey.pk]) + f"#q-{question.key}")


@permission_required("surveys.view_survey")
@require_POST
def question_reorder(request, pk: int):
    """The builder's drag and drop (JSON): store the order of every current question.

    Answers 400 with ``{"errors": {"order": [...]}}`` for an order that is not exactly the
    survey's current questions or that a display rule forbids; the page then puts the
    list back. The up/down buttons are the way without JavaScript.
    """
    survey = get_survey_for_user(request.user, pk, "surveys.change_question")
    form = QuestionOrderForm(request.POST)
    if not form.is_valid():
        errors = {name: list(messages) for name, messages in form.errors.items()}
        return JsonResponse({"errors": errors}, status=400)
    keys = form.cleaned_data["order"]
    try:
        services.reorder_questions(survey=survey, keys=keys)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"order": exc.messages}
        return JsonResponse({"errors": errors}, status=400)
    return JsonResponse({"order": keys, "message": "Question order saved."})


@permission_required("surveys.view_results")
def survey_results(request, pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.view_results")
    summaries = results_summaries(survey)
    invitations = invitation_counts(survey)
    return render(
        request,
        "surveys/results.html",
        {
            "survey": survey,
            "summaries": summaries,
            "charts": results.chart_data(summaries),
            "response_count": survey.responses.count(),
            "invitations": invitations,
            "response_rate": results.response_rate(invitations["invited"], invitations["answered"]),
        },
    )


def _export_name(survey, extension: str) -> str:
    return f"survey-{slugify(survey.title)[:40] or survey.pk}-responses.{extension}"


@permission_required("surveys.view_results")
def export_csv(request, pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.view_results")
    questions = all_questions(survey)
    lines = exports.csv_lines(questions, response_rows(survey).iterator(chunk_size=500))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name(survey, "csv")}"'
    return response


@permission_required("surveys.view_results")
def export_xlsx(request, pk: int):
    survey = get_survey_for_user(request.user, pk, "surveys.view_results")
    questions = all_questions(survey)
    data = exports.xlsx_bytes(
        survey.title, questions, response_rows(survey).iterator(chunk_size=500)
    )
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_export_name(survey, "xlsx")}"'
    return response
