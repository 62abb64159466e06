"""Reads for the survey pages and the survey API."""

from __future__ import annotations

import copy

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.http import Http404
from django.shortcuts import get_object_or_404

from config.process_cache import ProcessCache

from . import distribution, results
from .models import Answer, Invitation, Question, Response, Survey
from .prepared_queries import PreparedQuery


def survey_list() -> QuerySet[Survey]:
    return (
        Survey.objects.select_related("product", "created_by")
        .annotate(
            response_count=Count("responses", distinct=True),
            question_count=Count(
                "questions", filter=Q(questions__archived_at__isnull=True), distinct=True
            ),
        )
        .order_by("-created_at", "-id")
    )


def survey_with_questions() -> QuerySet[Survey]:
    return Survey.objects.select_related("product").prefetch_related(
        Prefetch("questions", queryset=Question.objects.current(), to_attr="current_questions")
    )


def get_survey_for_user(user, pk: int, perm: str = "surveys.view_survey") -> Survey:
    """The survey ``pk`` with its current questions, if ``user`` holds ``perm``.

    Users who may not even see surveys get 404 (ids reveal nothing); users who may see
    surveys but lack ``perm`` (e.g. staff trying to edit) get 403.
    """
    if not user.has_perm("surveys.view_survey"):
        raise Http404
    survey = get_object_or_404(survey_with_questions(), pk=pk)
    if not user.has_perm(perm):
        raise PermissionDenied
    return survey


def _reachable(surveys: QuerySet[Survey]) -> QuerySet[Survey]:
    """What respondents may reach by a survey's link: anything but a draft."""
    return surveys.exclude(status=Survey.Status.DRAFT)


def get_public_survey(slug: str) -> Survey:
    """A survey respondents may reach by its link, with its questions."""
    return get_object_or_404(_reachable(survey_with_questions()), slug=slug)


# The respondent path's look-ups, compiled once per connection (``prepared_queries``):
# without the questions, which the per-process question set has.
_SURVEY_TO_ANSWER = PreparedQuery(
    lambda slug: _reachable(Survey.objects.filter(slug=slug)).order_by(), str
)
_SURVEY_BY_ID = PreparedQuery(lambda pk: Survey.objects.filter(pk=pk).order_by(), int)

# ... and their rows, kept per process for a moment: at hundreds of responses a second
# the survey's own look-up was a round trip to PostgreSQL per response for a row that
# seldom changes. A row kept here is only a first opinion: storing a response re-reads
# status, window, quota and questions version under the survey row lock
# (``services.submit_response``), so a survey closed or edited by another process within
# ``ROW_TTL_SECONDS`` refuses or re-validates the response as it would have; only the
# respondent page's first view may show the survey as it was for that long. Saves and
# deletes in this process forget the row at once (after their commit).
ROW_TTL_SECONDS = 2.0
_rows = ProcessCache(seconds=lambda: ROW_TTL_SECONDS, max_entries=512)


def _kept(kind: str, key, load) -> Survey | None:
    survey = _rows.get_or_load((kind, key), lambda: load(key))
    return None if survey is None else copy.copy(survey)  # callers may change their copy


def forget_survey_rows() -> None:
    """Drop the kept survey rows of this process (after a survey changed)."""
    _rows.clear()


def forget_survey_rows_on_commit(**_kwargs) -> None:
    forget_survey_rows()
    transaction.on_commit(forget_survey_rows)


post_save.connect(forget_survey_rows_on_commit, sender=Survey, dispatch_uid="survey-rows-save")
post_delete.connect(forget_survey_rows_on_commit, sender=Survey, dispatch_uid="survey-rows-delete")


def survey_to_answer(slug: str) -> Survey:
    """``get_public_survey`` for a response being submitted (no questions loaded)."""
    survey = _kept("slug", slug, _SURVEY_TO_ANSWER.first)
    if survey is None:
        raise Http404("No survey at this address.")
    return survey


def survey_by_id(pk: int) -> Survey:
    """The survey a response is posted to over the API, or 404."""
    survey = _kept("id", pk, _SURVEY_BY_ID.first)
    if survey is None:
        raise Http404("No survey with this id.")
    return survey


def all_questions(survey: Survey) -> list[Question]:
    """Every question ever asked in the survey, archived versions included, in order."""
    # An archived version comes right before the version that replaced it.
    return list(survey.questions.order_by("position", F("archived_at").asc(nulls_last=True), "id"))


def response_rows(survey: Survey) -> QuerySet[Response]:
    """Responses with their answers (and answers' questions), oldest first, for exports."""
    return (
        Response.objects.filter(survey=survey)
        .select_related("customer", "collected_by")
        .prefetch_related(Prefetch("answers", queryset=Answer.objects.select_related("question")))
        .order_by("submitted_at", "id")
    )


def answer_rows(survey: Survey) -> list[dict]:
    """Plain rows of every answer, for ``surveys.results``."""
    return list(
        Answer.objects.filter(response__survey=survey)
        .order_by("response__submitted_at", "id")
        .values(
            "response_id",
            "question__key",
            "number",
            "text",
            "choices",
            "feedback_id",
            "feedback__sentiment_label",
            "response__submitted_at",
        )
    )


def invitation_counts(survey: Survey) -> dict:
    """``distribution.invitation_stats`` as the flat counts the results page and API show."""
    stats = distribution.invitation_stats(survey)
    return {
        "total": stats.total,
        "invited": stats.delivered,
        "opened": stats.by_status[Invitation.Status.OPENED] + stats.answered,
        "answered": stats.answered,
        "failed": stats.by_status[Invitation.Status.FAILED],
        "pending": stats.by_status[Invitation.Status.PENDING],
    }


def results_summaries(survey: Survey) -> list[dict]:
    """``results.summarise`` over every question version; archived ones only if answered."""
    plain = [
        {
            "key": q.key,
            "kind": q.kind,
            "text": q.text,
            "choices": q.choices,
            "allow_other": q.allow_other,
            "archived": q.archived_at is not None,
        }
        for q in all_questions(survey)
    ]
    summaries = results.summarise(plain, answer_rows(survey))
    # Archived versions without answers add nothing to the page.
    return [s for s in summaries if not s["archived"] or s["answered"]]
