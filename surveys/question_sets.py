"""The current questions of a survey, kept per process between respondents.

Every question edit moves ``Survey.questions_version`` on in the edit's own transaction
(``services``), so ``(survey, created_at, version)`` names one set of questions for good
and a set loaded once can answer every later request that read the same version from the
survey row. ``services.submit_response`` re-reads the version under the survey row lock
and starts again with the newer set when an edit committed meanwhile, so an answer is
never validated against questions that are no longer current. The creation time is in
the key because an id may be handed out again after a rollback (SQLite), never together
with the same creation time. Entries also expire, so a change made behind the services'
back (a shell, raw SQL) shows within ``TTL_SECONDS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.process_cache import ProcessCache

from .models import Question, Survey

MAX_SURVEYS = 256
TTL_SECONDS = 300.0


def question_dict(question: Question) -> dict:
    """The plain form of a question that ``logic`` and ``answers`` work on."""
    return {
        "key": question.key,
        "kind": question.kind,
        "text": question.text,
        "required": question.required,
        "choices": list(question.choices or []),
        "allow_other": question.allow_other,
        "show_if": dict(question.show_if or {}),
        "end_if": dict(question.end_if or {}),
    }


@dataclass(frozen=True)
class QuestionSet:
    """One version of a survey's current questions, in order. Shared between requests:
    read it, never change it (``plain`` are the ``question_dict`` forms)."""

    version: int
    questions: tuple[Question, ...]
    plain: tuple[dict, ...]


_sets = ProcessCache(seconds=TTL_SECONDS, max_entries=MAX_SURVEYS)


def current_question_set(survey: Survey, version: int | None = None) -> QuestionSet:
    """The current questions of ``survey`` at ``version`` (default: the version on the
    row as the caller loaded it), from this process's cache or from the database."""
    version = survey.questions_version if version is None else version

    def load() -> QuestionSet:
        # Not through survey.questions: those rows would hold on to this request's survey.
        questions = tuple(Question.objects.current().filter(survey_id=survey.pk))
        return QuestionSet(
            version=version,
            questions=questions,
            plain=tuple(question_dict(q) for q in questions),
        )

    return _sets.get_or_load((survey.pk, survey.created_at, version), load)
