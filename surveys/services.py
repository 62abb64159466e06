"""Every write to surveys goes through here: the builder pages, the public form, kiosks,
invitations, the API and the admin call the same functions.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid as uuid_module
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from api import webhooks
from feedback.inserts import insert_rows, new_row
from feedback.models import Customer, Feedback
from feedback.services import (
    announce_stored,
    build_feedback,
    refuse_duplicate_external_id,
    store_feedback_rows,
)

from . import exports, logic, response_statement, selectors
from .answers import AnswerError, CleanAnswer, clean_answer
from .models import Answer, Invitation, Question, Response, Survey
from .prepared_queries import PreparedQuery
from .question_sets import QuestionSet, current_question_set, question_dict
from .question_types import (
    CHOICE_MAX_LENGTH,
    MAX_CHOICES,
    OTHER,
    QUESTION_TYPES,
    RATING_KINDS,
    question_type,
)

# A kiosk may sync a response collected a while ago, but not one dated in the future.
SUBMITTED_AT_CLOCK_SKEW = dt.timedelta(minutes=5)


class SurveyClosed(ValidationError):
    """The survey does not accept responses now: not open, not yet open, or past its end."""

    def __init__(self, message: str = "This survey is not accepting responses."):
        super().__init__(message, code="closed")


class QuotaReached(ValidationError):
    """The survey already holds as many responses as its quota allows."""

    def __init__(self, message: str = "This survey has received all the responses it needs."):
        super().__init__(message, code="quota")


class InvitationUsed(ValidationError):
    def __init__(self, message: str = "This invitation has already been used."):
        super().__init__(message, code="invitation_used")


# ---------------------------------------------------------------------------------------
# Answering


def clean_answers(questions: list[dict], answers: dict) -> dict[str, CleanAnswer]:
    """Validate ``answers`` against ``questions`` (plain dicts, survey order).

    Returns the clean answers of the visible questions. Raises ``ValidationError`` with
    ``{question_key: [messages]}``: unknown keys, wrong types, missing required answers of
    visible questions. Answers to hidden questions are dropped, never an error.
    """
    if not isinstance(answers, dict):
        raise ValidationError({"answers": ["Send the answers as an object keyed by question."]})
    by_key = {q["key"]: q for q in questions}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, CleanAnswer] = {}
    for key, raw in answers.items():
        question = by_key.get(key)
        if question is None:
            errors[str(key)] = ["This is not a question of this survey."]
            continue
        try:
            answer = clean_answer(question, raw)
        except AnswerError as exc:
            errors[key] = [str(exc)]
            continue
        if answer is not None:
            cleaned[key] = answer
    visible = logic.visible_keys(questions, {k: a.value for k, a in cleaned.items()})
    visible_set = set(visible)
    errors = {k: v for k, v in errors.items() if k not in by_key or k in visible_set}
    for key in visible:
        if by_key[key]["required"] and key not in cleaned and key not in errors:
            errors[key] = ["This question requires an answer."]
    if errors:
        raise ValidationError(errors)
    return {k: cleaned[k] for k in visible if k in cleaned}


def _check_times(submitted_at, started_at, now) -> None:
    errors = {}
    for name, value in (("submitted_at", submitted_at), ("started_at", started_at)):
        if value is None:
            continue
        if not isinstance(value, dt.datetime) or timezone.is_naive(value):
            errors[name] = ["Give a date and time with a time zone."]
        elif value > now + SUBMITTED_AT_CLOCK_SKEW:
            errors[name] = ["This time lies in the future."]
    if (
        not errors
        and submitted_at is not None
        and started_at is not None
        and started_at > submitted_at
    ):
        errors["started_at"] = ["A response cannot start after it was submitted."]
    if errors:
        raise ValidationError(errors)


def check_response_times(
    *, survey: Survey, submitted_at: dt.datetime | None, started_at: dt.datetime | None
) -> None:
    """Refuse a client's ``submitted_at``/``started_at`` before the survey could be answered
    (``Survey.earliest_response_time``, the bound the kiosk clamps to) with
    ``ValidationError({field: [message]})``. Times in the future and times without a zone
    are refused by ``submit_response`` itself.
    """
    earliest = survey.earliest_response_time
    if earliest is None:
        return
    errors = {
        name: [
            "This time is before the survey opened "
            f"({earliest.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC)."
        ]
        for name, value in (("submitted_at", submitted_at), ("started_at", started_at))
        if isinstance(value, dt.datetime) and timezone.is_aware(value) and value < earliest
    }
    if errors:
        raise ValidationError(errors)


def check_accepting(survey: Survey, now: dt.datetime | None = None) -> None:
    """Raise ``SurveyClosed`` unless ``survey`` is open and inside its window (no quota)."""
    _check_window(survey.status, survey.opens_at, survey.closes_at, now or timezone.now())


def _check_window(status: str, opens_at, closes_at, now: dt.datetime) -> None:
    if status != Survey.Status.OPEN:
        raise SurveyClosed(
            "This survey is closed."
            if status == Survey.Status.CLOSED
            else "This survey is not open yet."
        )
    if opens_at and now < opens_at:
        raise SurveyClosed("This survey is not open yet.")
    if closes_at and now >= closes_at:
        raise SurveyClosed("This survey is closed.")


def _takes_response_sql(questions_version: int, now: dt.datetime) -> tuple[str, list]:
    """``_check_window``, the same questions version and no quota, as SQL on the survey's
    state row ``s`` (``_survey_state``) with its parameters: the condition under which
    the one statement stores a response (``response_statement``); a response it refuses
    is told why by ``_check_locked_state`` on the same row."""
    qn = connection.ops.quote_name
    status, opens_at, closes_at, quota, version = (f"s.{qn(name)}" for name in _STATE_FIELDS)
    return (
        f"{status} = %s AND ({opens_at} IS NULL OR {opens_at} <= %s)"
        f" AND ({closes_at} IS NULL OR {closes_at} > %s)"
        f" AND {quota} IS NULL AND {version} = %s",
        [Survey.Status.OPEN.value, now, now, questions_version],
    )


def quota_reached(survey: Survey) -> bool:
    """Whether ``survey`` already holds as many responses as its quota allows (read
    without a lock: the submission's own check is under the survey row lock)."""
    return survey.response_quota is not None and (
        Response.objects.filter(survey=survey).count() >= survey.response_quota
    )


def check_quota(survey: Survey) -> None:
    """Raise ``QuotaReached`` if ``survey`` already holds as many responses as it allows."""
    if quota_reached(survey):
        raise QuotaReached()


def _normalise_uuid(client_uuid) -> uuid_module.UUID | None:
    if client_uuid in (None, ""):
        return None
    if isinstance(client_uuid, uuid_module.UUID):
        return client_uuid
    try:
        return uuid_module.UUID(str(client_uuid))
    except ValueError:
        raise ValidationError({"client_uuid": ["Enter a valid UUID."]}) from None


class _QuestionsChanged(Exception):
    """The survey's questions were edited while a response was being stored."""

    def __init__(self, version: int):
        self.version = version


class _QuotaSet(Exception):
    """A quota was set on the survey while a response was being stored without one."""

    def __init__(self, quota: int):
        self.quota = quota


# A response validated against questions that changed meanwhile is stored again with the
# newer ones (one stored without a quota that was set meanwhile, under the quota); after
# this many attempts in a row the respondent is asked to send it again.
QUESTION_SET_ATTEMPTS = 3


def submit_response(
    *,
    survey: Survey,
    answers: dict[str, object],
    channel: str,
    client_uuid=None,
    customer: Customer | None = None,
    invitation: Invitation | None = None,
    collected_by=None,
    submitted_at: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
) -> tuple[Response, bool]:
    """Store one response to ``survey``; return ``(response, created)``.

    Atomically, under the survey row lock, so the quota and a close hold exactly under
    concurrency: on PostgreSQL one statement (``response_statement``) unless there is an
    invitation to mark or a quota to count; otherwise one transaction that takes the lock
    as its last step (exclusive among submissions only with a quota; see
    ``_recheck_under_lock``). A repeated
    ``client_uuid`` returns the stored response with ``created=False`` and stores
    nothing, even after the survey closed; otherwise the survey must accept
    responses now (``SurveyClosed``, code "closed") and be under its quota
    (``QuotaReached``, code "quota"); an invitation must belong to the survey and be unused
    (``InvitationUsed``, code "invitation_used") and is marked answered; the answers are
    validated (``ValidationError`` ``{question_key: [messages]}``) against the current
    questions, which are confirmed under the lock (an edit committed meanwhile means
    the answers are validated and stored again). Each non-empty text answer becomes a
    ``Feedback`` (channel survey) linked from its ``Answer``. Nothing is stored when
    anything is refused.

    Anonymous responses are accepted for internal-audience surveys too: the audience says
    who the survey is meant for, not who may answer (invitations and kiosks identify people).
    """
    if channel not in Response.Channel.values:
        raise ValidationError({"channel": [f'"{channel}" is not a valid channel.']})
    client_uuid = _normalise_uuid(client_uuid)
    now = timezone.now()
    _check_times(submitted_at, started_at, now)
    submitted_at = submitted_at or now

    question_set = current_question_set(survey)
    for attempt in range(1, QUESTION_SET_ATTEMPTS + 1):
        try:
            one_statement = _one_statement(survey, invitation)
            # One statement is atomic by itself: no BEGIN/COMMIT round trips unless the
            # caller's transaction needs a savepoint around it.
            with (
                nullcontext()
                if one_statement and not connection.in_atomic_block
                else transaction.atomic()
            ):
                response = _store_response(
                    one_statement=one_statement,
                    survey=survey,
                    question_set=question_set,
                    answers=answers,
                    channel=channel,
                    client_uuid=client_uuid,
                    customer=customer,
                    invitation=invitation,
                    collected_by=collected_by,
                    submitted_at=submitted_at,
                    started_at=started_at,
                    now=now,
                )
            break
        except _QuestionsChanged as exc:
            if attempt == QUESTION_SET_ATTEMPTS:
                raise ValidationError(
                    "The questions of this survey changed while you answered; send it again.",
                    code="questions_changed",
                ) from None
            # The caller's row is behind: bring it up to date for its next submission
            # (a kiosk batch shares one).
            survey.questions_version = exc.version
            question_set = current_question_set(survey)
        except _QuotaSet as exc:
            if attempt == QUESTION_SET_ATTEMPTS:
                raise ValidationError(
                    "This survey changed while you answered; send it again.",
                    code="survey_changed",
                ) from None
            survey.response_quota = exc.quota
        except (ValidationError, IntegrityError):
            # A repeated client_uuid is looked up only when storing failed: the unique
            # index refuses the copy (after the first commits, if both run at once), and
            # a copy sent after closing, or with answers no longer valid, is refused
            # before. Either way the stored response is the answer.
            if client_uuid is not None:
                existing = Response.objects.filter(
                    survey_id=survey.pk, client_uuid=client_uuid
                ).first()
                if existing is not None:
                    return existing, False
            raise
    webhooks.emit("response.created", lambda: webhooks.survey_response_payload(response))
    return response, True


def _one_statement(survey: Survey, invitation: Invitation | None) -> bool:
    """Whether a response is stored in one statement (``response_statement``): on
    PostgreSQL, with no invitation to mark answered and no quota to count."""
    return (
        connection.vendor == "postgresql" and invitation is None and survey.response_quota is None
    )


def _store_response(
    *,
    one_statement: bool,
    survey: Survey,
    question_set: QuestionSet,
    answers,
    channel,
    client_uuid,
    customer,
    invitation,
    collected_by,
    submitted_at,
    started_at,
    now,
) -> Response:
    # Early refusals on the row as the caller loaded it; the authoritative check is under
    # the lock at the end.
    check_accepting(survey, now)
    check_quota(survey)
    if invitation is not None:
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.survey_id != survey.pk:
            raise ValidationError(
                "This invitation is for another survey.", code="invitation_invalid"
            )
        if (
            invitation.status == Invitation.Status.ANSWERED
            or Response.objects.filter(invitation=invitation).exists()
        ):
            raise InvitationUsed()
        customer = invitation.customer

    questions = question_set.questions
    try:
        cleaned = clean_answers(list(question_set.plain), answers)
    except ValidationError:
        # Refuse only against the questions asked now: the answers may be to a version
        # the caller's row had not seen yet.
        version = Survey.objects.filter(pk=survey.pk).values_list("questions_version").get()[0]
        if version != question_set.version:
            raise _QuestionsChanged(version) from None
        raise

    response = new_row(
        Response,
        survey=survey,
        channel=channel,
        client_uuid=client_uuid,
        customer=customer,
        invitation=invitation,
        collected_by=collected_by,
        started_at=started_at,
        submitted_at=submitted_at,
    )
    rating = _first_rating(questions, cleaned)
    rows: list[Answer] = []
    answer_feedback: list[str | None] = []
    feedback_rows: list[tuple[Feedback, str]] = []
    for question in questions:
        answer = cleaned.get(question.key)
        if answer is None:
            continue
        feedback_key = None
        if question_type(question.kind).is_text and answer.text:
            feedback = build_feedback(
                channel=Feedback.Channel.SURVEY,
                source=f"survey:{survey.slug}",
                text=answer.text,
                customer=customer,
                received_at=submitted_at,
                **rating,
            )
            # By id: the survey's product row is not needed (nor loaded).
            feedback.product_id = survey.product_id
            feedback_key = question.key
            feedback_rows.append((feedback, feedback_key))
        rows.append(
            new_row(
                Answer,
                question=question,
                number=answer.number,
                text=answer.text,
                choices=list(answer.choices),
            )
        )
        answer_feedback.append(feedback_key)
    if one_statement:
        try:
            state, stored = response_statement.store(
                response=response,
                feedback=feedback_rows,
                answers=list(zip(rows, answer_feedback, strict=True)),
                state=_STATE.statement(survey.pk),
                condition=_takes_response_sql(question_set.version, now),
            )
        except IntegrityError as exc:
            refuse_duplicate_external_id(exc)
            raise
        if not stored:
            # Refused by the survey row as the statement read it under the lock.
            _check_locked_state(state, question_set.version, quota=False, now=now)
            raise SurveyClosed()
        if feedback_rows:
            announce_stored([feedback for feedback, _ in feedback_rows])
    else:
        insert_rows([response], prepared=True)
        by_key = {}
        for feedback, key in feedback_rows:
            # (An external id already taken means someone stored feedback under this
            # survey's source by hand: the ids name the new response.)
            feedback.external_id = f"{response.pk}:{key}"
            by_key[key] = feedback
        for row, feedback_key in zip(rows, answer_feedback, strict=True):
            row.response = response
            row.feedback = by_key.get(feedback_key)
        # In the response's transaction: anything refused rolls the response back.
        store_feedback_rows([feedback for feedback, _ in feedback_rows])
        insert_rows(rows, prepared=True)
        if invitation is not None:
            invitation.status = Invitation.Status.ANSWERED
            invitation.answered_at = now
            invitation.save(update_fields=["status", "answered_at"])
        _recheck_under_lock(
            survey.pk, question_set.version, quota=survey.response_quota is not None
        )
    # Scores count in the daily rollup: have the day of a late answer recounted.
    from insights.services import mark_moment_changed

    mark_moment_changed(submitted_at)
    # What was stored, so callers can show it without reading it back (the same cache
    # prefetch_related("answers") fills; other queryset methods still query).
    stored = response.answers.all()
    stored._result_cache = rows
    stored._prefetch_done = True
    response._prefetched_objects_cache = {"answers": stored}
    return response


# The survey row as the lock statement reads it; compiled once per connection. Exclusive
# among submissions when the survey has a quota, shared otherwise. (The one statement
# adds its own lock clause: Django compiles none outside a transaction.)
_STATE_FIELDS = ("status", "opens_at", "closes_at", "response_quota", "questions_version")


def _survey_state(survey_id):
    return Survey.objects.filter(pk=survey_id).order_by().values(*_STATE_FIELDS)


_STATE = PreparedQuery(_survey_state, int)
_LOCKED_STATE = PreparedQuery(lambda pk: _survey_state(pk).select_for_update(no_key=True), int)
_SHARED_STATE = PreparedQuery(
    lambda pk: _survey_state(pk).select_for_update(no_key=True), int, share_lock=True
)


def _recheck_under_lock(survey_id: int, questions_version: int, *, quota: bool) -> None:
    """The last step of storing a response: take the survey row lock and check, on the
    row as it is now, that the survey still accepts responses, that this one stays within
    the quota and that the questions are still those of ``questions_version``.

    The lock is taken last, so it is held only for this check and the commit. Every
    survey edit (close, settings, questions: ``FOR UPDATE``) waits for it and it waits for
    them, so nothing commits after a close or against questions changed meanwhile: the
    row is re-read once the lock is granted (READ COMMITTED).

    - ``quota``: a survey with a response quota is locked ``FOR NO KEY UPDATE``, which
      also excludes the other submissions: the count includes this response and every
      one committed before the lock was granted, so no more than the quota can ever
      commit. (The key-share lock a concurrent response's INSERT takes on the survey
      row does not wait for it, so the others write their rows meanwhile.)
    - without a quota the lock is ``FOR SHARE``: submissions do not wait for each other,
      only for edits. If a quota was set since the caller read the row, the response is
      stored again under the exclusive lock (``_QuotaSet``).
    """
    state = (_LOCKED_STATE if quota else _SHARED_STATE).first(survey_id)
    _check_locked_state(state, questions_version, quota=quota)
    limit = state["response_quota"]
    if limit is not None and Response.objects.filter(survey_id=survey_id).count() > limit:
        raise QuotaReached()


def _check_locked_state(
    state: dict | None, questions_version: int, *, quota: bool, now: dt.datetime | None = None
) -> None:
    """The survey row as read under its lock still takes this response at ``now`` (see
    ``_recheck_under_lock``); the count of a quota is the caller's."""
    if state is None:  # deleted meanwhile
        raise SurveyClosed("This survey is closed.")
    _check_window(state["status"], state["opens_at"], state["closes_at"], now or timezone.now())
    if state["questions_version"] != questions_version:
        raise _QuestionsChanged(state["questions_version"])
    limit = state["response_quota"]
    if limit is not None and not quota:
        raise _QuotaSet(limit)


def _first_rating(questions: list[Question], cleaned: dict[str, CleanAnswer]) -> dict:
    for question in questions:
        answer = cleaned.get(question.key)
        if answer is not None and question.kind in RATING_KINDS:
            qtype = question_type(question.kind)
            return {
                "rating": answer.number,
                "rating_min": qtype.scale_min,
                "rating_max": qtype.scale_max,
            }
    return {}


# ---------------------------------------------------------------------------------------
# Surveys: create, settings, lifecycle

SLUG_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (i, l, o, 0, 1)
SLUG_RANDOM_LENGTH = 6


def _new_slug(title: str) -> str:
    """A short public slug: a few words of the title and a random suffix, e.g. ``onboarding-k3q9xz``."""
    base = slugify(title)[:20].strip("-")
    suffix = "".join(secrets.choice(SLUG_ALPHABET) for _ in range(SLUG_RANDOM_LENGTH))
    return f"{base}-{suffix}" if base else suffix


SURVEY_SETTINGS = (
    "title",
    "description",
    "thank_you_message",
    "audience",
    "product",
    "opens_at",
    "closes_at",
    "response_quota",
)


QUOTA_TOO_LARGE = f"The quota can be at most {Survey.MAX_RESPONSE_QUOTA:,} responses."


def _validate_survey(survey: Survey) -> None:
    errors: dict[str, list[str]] = {}
    if not (survey.title or "").strip():
        errors["title"] = ["Give the survey a title."]
    if survey.audience not in Survey.Audience.values:
        errors["audience"] = [f'"{survey.audience}" is not a valid audience.']
    if survey.opens_at and survey.closes_at and survey.closes_at <= survey.opens_at:
        errors["closes_at"] = ["The survey must close after it opens."]
    for name in ("opens_at", "closes_at"):
        value = getattr(survey, name)
        if value is not None and timezone.is_naive(value):
            errors[name] = ["Give a date and time with a time zone."]
    if survey.response_quota is not None and survey.response_quota < 1:
        errors["response_quota"] = ["The quota must be at least 1 (or empty for no quota)."]
    if survey.response_quota is not None and survey.response_quota > Survey.MAX_RESPONSE_QUOTA:
        errors["response_quota"] = [QUOTA_TOO_LARGE]
    if errors:
        raise ValidationError(errors)


def create_survey(*, title: str, created_by=None, **fields) -> Survey:
    """Create a draft survey with a unique short slug. ``fields`` are ``SURVEY_SETTINGS``."""
    unknown = set(fields) - set(SURVEY_SETTINGS)
    if unknown:
        raise TypeError(f"unknown survey settings: {sorted(unknown)}")
    survey = Survey(title=(title or "").strip(), created_by=created_by, **fields)
    _validate_survey(survey)
    for _ in range(10):
        survey.slug = _new_slug(survey.title)
        try:
            with transaction.atomic():
                survey.save(force_insert=True)
            return survey
        except IntegrityError:
            if not Survey.objects.filter(slug=survey.slug).exists():
                raise
            survey.pk = None
    raise RuntimeError("could not find a free survey slug")


def update_survey(*, survey: Survey, **fields) -> Survey:
    """Change a survey's settings (``SURVEY_SETTINGS``); raises ``ValidationError``."""
    unknown = set(fields) - set(SURVEY_SETTINGS)
    if unknown:
        raise TypeError(f"unknown survey settings: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(survey, name, value.strip() if isinstance(value, str) else value)
    _validate_survey(survey)
    survey.save(update_fields=[*fields, "updated_at"])
    return survey


def open_survey(*, survey: Survey) -> Survey:
    """draft → open, or closed → open (reopen). Needs at least one current question."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status == Survey.Status.OPEN:
            raise ValidationError("This survey is already open.", code="invalid_transition")
        if not survey.questions.current().exists():
            raise ValidationError("Add at least one question before opening.", code="no_questions")
        errors = logic.validate_logic([question_dict(q) for q in survey.questions.current()])
        if errors:
            raise ValidationError(errors)
        if survey.closes_at and survey.closes_at <= timezone.now():
            raise ValidationError(
                {"closes_at": ["The closing date has passed; move it before opening."]}
            )
        survey.status = Survey.Status.OPEN
        survey.opened_at = timezone.now()
        survey.closed_at = None
        survey.save(update_fields=["status", "opened_at", "closed_at", "updated_at"])
    return survey


def close_survey(*, survey: Survey) -> Survey:
    """open → closed."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.status != Survey.Status.OPEN:
            raise ValidationError("Only an open survey can be closed.", code="invalid_transition")
        survey.status = Survey.Status.CLOSED
        survey.closed_at = timezone.now()
        survey.save(update_fields=["status", "closed_at", "updated_at"])
    return survey


def delete_survey(*, survey: Survey) -> None:
    """Delete a survey that has no responses (one with responses is closed instead)."""
    if survey.responses.exists():
        raise ValidationError(
            "This survey has responses; close it instead of deleting it.", code="has_responses"
        )
    survey.delete()


# ---------------------------------------------------------------------------------------
# Questions

QUESTION_FIELDS = (
    "kind",
    "text",
    "help_text",
    "required",
    "choices",
    "allow_other",
    "show_if",
    "end_if",
)
# Changing any of these changes what an answer means: an answered question is versioned.
MEANING_FIELDS = ("kind", "choices", "allow_other")
KEY_MAX_LENGTH = 40


def _clean_choices(kind: str, choices) -> list[str]:
    if not question_type(kind).has_choices:
        return []
    if isinstance(choices, str):
        choices = choices.splitlines()
    if not isinstance(choices, (list, tuple)):
        raise ValidationError({"choices": ["Give the choices as a list."]})
    cleaned: list[str] = []
    for choice in choices:
        if not isinstance(choice, str):
            raise ValidationError({"choices": ["Each choice must be text."]})
        choice = choice.strip()
        if not choice:
            continue
        if len(choice) > CHOICE_MAX_LENGTH:
            raise ValidationError(
                {"choices": [f"Keep each choice under {CHOICE_MAX_LENGTH} characters."]}
            )
        if choice in cleaned:
            raise ValidationError({"choices": [f'"{choice}" is listed twice.']})
        cleaned.append(choice)
    if len(cleaned) < 2:
        raise ValidationError({"choices": ["Give at least two choices, one per line."]})
    if len(cleaned) > MAX_CHOICES:
        raise ValidationError({"choices": [f"Give at most {MAX_CHOICES} choices."]})
    return cleaned


def _lock_for_question_edit(survey: Survey) -> None:
    """Take the survey row lock for a question edit (FOR UPDATE, so the edit waits for
    the responses being stored, which hold a key-share lock on the row) and move
    ``questions_version`` on, so the per-process question sets of the old version are
    not used again (``question_sets``); a rolled-back edit leaves the version as it was.
    """
    Survey.objects.select_for_update().get(pk=survey.pk)
    Survey.objects.filter(pk=survey.pk).update(questions_version=F("questions_version") + 1)
    selectors.forget_survey_rows_on_commit()


def current_question(*, survey: Survey, pk: int) -> Question:
    """The current question ``pk`` of ``survey``; raises ``ValidationError`` (code
    "question_gone") when it was deleted or replaced by a newer version, e.g. by another
    manager since the builder page was loaded, naming the version to edit instead."""
    question = survey.questions.select_related("replaced_by").filter(pk=pk).first()
    if question is None:
        raise ValidationError(
            "This question was deleted meanwhile; reload the survey to see its questions.",
            code="question_gone",
        )
    if question.archived_at is not None:
        newer = question.replaced_by
        raise ValidationError(
            f"This question was replaced by a newer version (“{newer.key}”); edit that one."
            if newer is not None and newer.archived_at is None
            else "This question was deleted meanwhile; reload the survey to see its questions.",
            code="question_gone",
        )
    question.survey = survey
    return question


def _still_current(question: Question) -> Question:
    """``question`` as it is now, read under the survey's question-edit lock: a request
    may have loaded it before another edit (or its own second click) replaced it."""
    return current_question(survey=question.survey, pk=question.pk)


def _validate_question_fields(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    if data.get("kind") not in QUESTION_TYPES:
        raise ValidationError({"kind": [f'"{data.get("kind")}" is not a question type.']})
    text = (data.get("text") or "").strip()
    if not text:
        errors["text"] = ["Write the question."]
    elif len(text) > 500:
        errors["text"] = ["Keep the question under 500 characters."]
    help_text = (data.get("help_text") or "").strip()
    if len(help_text) > 500:
        errors["help_text"] = ["Keep the help text under 500 characters."]
    for name in ("show_if", "end_if"):
        if data.get(name) is None:
            data[name] = {}
        if not isinstance(data[name], dict):
            errors[name] = ["A rule must be an object."]
    try:
        choices = _clean_choices(data["kind"], data.get("choices") or [])
    except ValidationError as exc:
        errors.update(exc.message_dict)
        choices = []
    if errors:
        raise ValidationError(errors)
    if OTHER in choices and data.get("allow_other"):
        raise ValidationError(
            {"choices": [f'Remove "{OTHER}" from the list: it is added for you.']}
        )
    return {
        **data,
        "text": text,
        "help_text": help_text,
        "choices": choices,
        "allow_other": bool(data.get("allow_other")) and question_type(data["kind"]).has_choices,
        "required": bool(data.get("required")),
    }


def _unique_key(survey: Survey, wanted: str) -> str:
    base = (slugify(wanted).replace("-", "_") or "q")[: KEY_MAX_LENGTH - 4]
    taken = set(survey.questions.values_list("key", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _check_survey_logic(
    survey: Survey, replaced: dict[int, dict] | None = None, *, own_key: str | None = None
) -> None:
    """Validate the logic of the survey's current questions, with ``replaced`` applied
    (question pk → plain dict; pk None for a question about to be created, at its place);
    errors as ``raise_logic_errors`` with ``own_key``.
    """
    replaced = replaced or {}
    plain = []
    for q in survey.questions.current():
        plain.append(replaced.pop(q.pk, None) or question_dict(q))
    plain.extend(v for v in replaced.values() if v is not None)
    raise_logic_errors(logic.validate_logic(plain), own_key=own_key)


def raise_logic_errors(errors: dict[str, list[str]], *, own_key: str | None = None) -> None:
    """Turn ``logic.validate_logic`` output into a ``ValidationError``: the rules of
    ``own_key`` (the question being saved; every question when None) on show_if/end_if,
    a rule of another question the change breaks on the whole form, naming it (its rule
    is not on the form being saved)."""
    if not errors:
        return
    fields: dict[str, list[str]] = {}
    for key, messages in errors.items():
        for message in messages:
            if own_key is not None and key != own_key:
                fields.setdefault(NON_FIELD_ERRORS, []).append(
                    f'This change breaks the rule of question "{key}": {message} '
                    "Change or remove that rule first."
                )
                continue
            field = "end_if" if message.startswith("Skip rule") else "show_if"
            fields.setdefault(field, []).append(f"{key}: {message}")
    raise ValidationError(fields)


def add_question(
    *,
    survey: Survey,
    kind: str,
    text: str,
    key: str = "",
    help_text: str = "",
    required: bool = False,
    choices: Iterable[str] = (),
    allow_other: bool = False,
    show_if: dict | None = None,
    end_if: dict | None = None,
    position: int | None = None,
) -> Question:
    """Append a question (or insert it at ``position``); its logic is validated."""
    data = _validate_question_fields(
        {
            "kind": kind,
            "text": text,
            "help_text": help_text,
            "required": required,
            "choices": list(choices) if not isinstance(choices, str) else choices,
            "allow_other": allow_other,
            "show_if": show_if or {},
            "end_if": end_if or {},
        }
    )
    with transaction.atomic():
        _lock_for_question_edit(survey)
        if key:
            key = slugify(key).replace("-", "_")[:KEY_MAX_LENGTH]
            if not key:
                raise ValidationError({"key": ["Use letters, digits and underscores."]})
            if key in exports.FIXED_COLUMNS:
                raise ValidationError(
                    {"key": [f'"{key}" is a column of the survey export; choose another key.']}
                )
            if survey.questions.filter(key=key).exists():
                raise ValidationError({"key": [f'"{key}" is already used in this survey.']})
        else:
            key = _unique_key(survey, question_type(kind).kind)
        current = list(survey.questions.current())
        if position is None or position >= len(current):
            position = len(current)
        position = max(0, position)
        plain = [question_dict(q) for q in current]
        plain.insert(position, {**data, "key": key})
        errors = logic.validate_logic(plain)
        if key in errors:
            raise ValidationError({"show_if": errors[key]})
        if errors:
            raise ValidationError({"position": [m for ms in errors.values() for m in ms]})
        question = Question.objects.create(survey=survey, key=key, position=position, **data)
        _renumber(
            survey,
            [*[q.pk for q in current[:position]], question.pk, *[q.pk for q in current[position:]]],
        )
    return question


def _renumber(survey: Survey, ordered_pks: list[int]) -> None:
    questions = {q.pk: q for q in survey.questions.filter(pk__in=ordered_pks)}
    for index, pk in enumerate(ordered_pks):
        questions[pk].position = index
    Question.objects.bulk_update(questions.values(), ["position"])


def update_question(*, question: Question, **changes) -> Question:
    """Edit a question; returns the question now current (maybe a new version).

    A question without answers is edited in place. A question with answers is edited in
    place only when the meaning of its answers stays (text, help text, required, logic);
    changing its kind, choices or "other" option archives it (``archived_at``,
    ``replaced_by``) and creates a new version with a new key at the same position, so
    stored answers keep pointing at what was asked. Display rules of other questions that
    referred to the old key are re-pointed at the new one (unless the change makes them
    invalid, then the edit is refused). A question replaced or deleted since the caller
    loaded it is refused (code "question_gone"): editing it would add a second version.
    """
    unknown = set(changes) - set(QUESTION_FIELDS)
    if unknown:
        raise TypeError(f"unknown question fields: {sorted(unknown)}")
    survey = question.survey
    with transaction.atomic():
        _lock_for_question_edit(survey)
        question = _still_current(question)
        before = {f: getattr(question, f) for f in QUESTION_FIELDS}
        data = _validate_question_fields({**before, **changes})
        meaning_changed = any(data[f] != before[f] for f in MEANING_FIELDS)
        if not meaning_changed or not question.answers.exists():
            replaced = {question.pk: {**data, "key": question.key}}
            _check_survey_logic(survey, replaced, own_key=question.key)
            for name in QUESTION_FIELDS:
                setattr(question, name, data[name])
            question.save(update_fields=list(QUESTION_FIELDS))
            return question
        return _new_version(question, data)


def _new_version(question: Question, data: dict) -> Question:
    survey = question.survey
    new_key = _versioned_key(survey, question.key)
    current = list(survey.questions.current())
    plain = []
    for q in current:
        plain.append({**data, "key": new_key} if q.pk == question.pk else question_dict(q))
    changed_keys = logic.repoint_rules(plain, question.key, new_key)
    raise_logic_errors(logic.validate_logic(plain), own_key=new_key)
    now = timezone.now()
    question.archived_at = now
    question.save(update_fields=["archived_at"])
    replacement = Question.objects.create(
        survey=survey, key=new_key, position=question.position, **data
    )
    question.replaced_by = replacement
    question.save(update_fields=["replaced_by"])
    by_key = {p["key"]: p for p in plain}
    for q in current:
        if q.key in changed_keys:
            q.show_if = by_key[q.key]["show_if"]
            q.save(update_fields=["show_if"])
    return replacement


def _versioned_key(survey: Survey, key: str) -> str:
    stem = key
    if "_v" in key and key.rsplit("_v", 1)[1].isdigit():
        stem = key.rsplit("_v", 1)[0]
    taken = set(survey.questions.values_list("key", flat=True))
    n = 2
    while True:
        # The stem gives way to the suffix: cutting the suffix instead would give the
        # same key again at the longest keys.
        suffix = f"_v{n}"
        candidate = stem[: KEY_MAX_LENGTH - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def delete_question(*, question: Question) -> None:
    """Delete an unanswered question; archive an answered one (its answers stay).

    Refused while another current question's display rule refers to it, and when it
    was replaced or deleted meanwhile (code "question_gone").
    """
    survey = question.survey
    with transaction.atomic():
        _lock_for_question_edit(survey)
        question = _still_current(question)
        dependants = [
            q.key
            for q in survey.questions.current().exclude(pk=question.pk)
            if (q.show_if or {}).get("question") == question.key
        ]
        if dependants:
            raise ValidationError(
                f"Remove the display rule of {', '.join(dependants)} first: it uses this question.",
                code="in_use",
            )
        if question.answers.exists():
            question.archived_at = timezone.now()
            question.save(update_fields=["archived_at"])
        else:
            question.delete()
        _renumber(survey, list(survey.questions.current().values_list("pk", flat=True)))


def duplicate_question(*, question: Question) -> Question:
    """Copy a question right after itself, with a new key and no answers."""
    survey = question.survey
    with transaction.atomic():
        _lock_for_question_edit(survey)
        question = _still_current(question)
        return add_question(
            survey=survey,
            kind=question.kind,
            text=question.text,
            help_text=question.help_text,
            required=question.required,
            choices=list(question.choices or []),
            allow_other=question.allow_other,
            show_if=dict(question.show_if or {}),
            end_if=dict(question.end_if or {}),
            key=_unique_key(survey, f"{question.key}_copy"),
            position=list(survey.questions.current().values_list("pk", flat=True)).index(
                question.pk
            )
            + 1,
        )


def move_question(*, question: Question, offset: int) -> None:
    """Move a question ``offset`` places (−1 up, +1 down). Refused when a display rule
    would then refer to a later question."""
    survey = question.survey
    with transaction.atomic():
        _lock_for_question_edit(survey)
        question = _still_current(question)
        current = list(survey.questions.current())
        index = next(i for i, q in enumerate(current) if q.pk == question.pk)
        target = max(0, min(len(current) - 1, index + offset))
        if target == index:
            return
        current.insert(target, current.pop(index))
        errors = logic.validate_logic([question_dict(q) for q in current])
        if errors:
            raise ValidationError(
                "That move would put a question before the question its display rule uses.",
                code="logic_order",
            )
        _renumber(survey, [q.pk for q in current])


def reorder_questions(*, survey: Survey, keys: list[str]) -> None:
    """Put the current questions in the order of ``keys`` (all of them, each once).

    Raises ``ValidationError`` on ``order`` naming the unknown, missing or repeated keys
    (e.g. a page loaded before someone else added or removed a question), or when a
    display rule would then refer to a later question; nothing changes then. Takes the
    survey's question-edit lock.
    """
    with transaction.atomic():
        _lock_for_question_edit(survey)
        current = {q.key: q for q in survey.questions.current()}
        problems = _order_problems(keys, list(current))
        if problems:
            raise ValidationError({"order": problems})
        ordered = [current[k] for k in keys]
        errors = logic.validate_logic([question_dict(q) for q in ordered])
        if errors:
            raise ValidationError({"order": [f"{k}: {m}" for k, ms in errors.items() for m in ms]})
        _renumber(survey, [q.pk for q in ordered])


def _order_problems(keys: list[str], current: list[str]) -> list[str]:
    """Why ``keys`` is not an order of exactly the ``current`` question keys, if it is not."""
    problems = []
    unknown = [k for k in dict.fromkeys(keys) if k not in current]
    missing = [k for k in current if k not in keys]
    repeated = [k for k, n in Counter(keys).items() if n > 1]
    if unknown:
        problems.append(f"Not a current question of this survey: {', '.join(unknown)}.")
    if missing:
        problems.append(f"Missing from the new order: {', '.join(missing)}.")
    if repeated:
        problems.append(f"Listed more than once: {', '.join(repeated)}.")
    if problems:
        problems.append("Reload the page to see the survey's current questions.")
    return problems
