"""Sentiment models that learn from the organisation's own labels: train, compare, activate,
roll back, and re-score what an older model scored."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from feedback.models import Feedback

from .analysis import model_selection, rating_labels, sentiment_model
from .models import SentimentCorrection, SentimentModel
from .scoring import active_scorer, artifact_problem, model_dir, scorer_for

logger = logging.getLogger(__name__)

STAFF_MODEL_NAME = "staff"
# The newest labelled rows are enough to learn the organisation's language.
MAX_TRAINING_ROWS = 50_000
RESCORE_BATCH_SIZE = 1_000


def labelled_feedback() -> tuple[list[str], list[str]]:
    """Texts with a label: staff corrections first, else the rating given with the text."""
    texts: list[str] = []
    labels: list[str] = []
    corrected: set[int] = set()
    for feedback_id, text, label in SentimentCorrection.objects.order_by(
        "-corrected_at"
    ).values_list("feedback_id", "feedback__text", "label")[:MAX_TRAINING_ROWS]:
        corrected.add(feedback_id)
        if not text.strip():  # a label on a rating without a comment: nothing to learn
            continue
        texts.append(text)
        labels.append(label)
    rated = (
        Feedback.objects.filter(
            rating__isnull=False, rating_min__isnull=False, rating_max__isnull=False
        )
        .exclude(text="")
        .order_by("-received_at")
        .values_list("id", "text", "rating", "rating_min", "rating_max")
    )
    five_point = rating_labels.RatingThresholds(
        negative_below=settings.SENTIMENT_RATING_NEGATIVE_BELOW,
        positive_from=settings.SENTIMENT_RATING_POSITIVE_FROM,
    )
    for feedback_id, text, rating, low, high in rated.iterator(chunk_size=5000):
        if len(texts) >= MAX_TRAINING_ROWS:
            break
        if feedback_id in corrected or high <= low:
            continue
        thresholds = rating_labels.thresholds_for_scale(low, high)
        if thresholds == rating_labels.FIVE_POINT:
            thresholds = five_point
        label = rating_labels.rating_to_label(
            float((rating - low) / (high - low)),
            negative_below=thresholds.negative_below,
            positive_from=thresholds.positive_from,
        )
        if label is not None:
            texts.append(text)
            labels.append(label)
    return texts, labels


def ensure_lexicon_model() -> SentimentModel:
    """The cold-start model, version 1, active until a better one is trained."""
    model = SentimentModel.objects.filter(kind=SentimentModel.Kind.LEXICON).first()
    if model is None:
        with transaction.atomic():
            model = SentimentModel.objects.create(
                version=_next_version(),
                kind=SentimentModel.Kind.LEXICON,
                is_active=not SentimentModel.objects.active().exists(),
                activated_at=timezone.now(),
                note="Lexicon cold start",
            )
    return model


def _next_version() -> int:
    return (SentimentModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1


def train_sentiment_model(*, min_rows: int | None = None, run=None) -> SentimentModel | None:
    """Train a candidate on the labelled feedback and activate it only if it beats the
    active model on the same held-out rows. The held-out rows are the same in every run and
    no model is trained on them, so neither model is graded on rows it learned. Returns the
    candidate, or None when there are fewer than ``min_rows`` labelled rows
    (``SENTIMENT_MIN_TRAINING_ROWS``) or too few to hold out a share; the reason is then
    noted on ``run`` (a :class:`~insights.runs.RunTracker`) for the models page."""
    min_rows = settings.SENTIMENT_MIN_TRAINING_ROWS if min_rows is None else min_rows
    texts, labels = labelled_feedback()
    if len(texts) < min_rows or len(set(labels)) < 2:
        logger.info("sentiment training skipped: %s labelled rows", len(texts))
        if run:
            run.note(
                skipped=f"{len(texts):,} labelled rows with {len(set(labels))} of the three "
                f"labels; training needs {min_rows:,} rows with at least two labels."
            )
        return None
    ensure_lexicon_model()
    active = SentimentModel.objects.active().first()
    incumbent = scorer_for(active)
    try:
        outcome = model_selection.train_and_compare(texts, labels, incumbent=incumbent.score)
    except ValueError as exc:
        logger.info("sentiment training skipped: %s", exc)
        if run:
            run.note(skipped=f"Too few labelled rows to hold some out for the comparison ({exc}).")
        return None
    version = _next_version()
    artifact = f"sentiment-v{version}.joblib"
    sentiment_model.dump(outcome.model, model_dir() / artifact)
    better = outcome.candidate_metrics["macro_f1"] > outcome.incumbent_metrics["macro_f1"]
    note = "Activated: better than the active model" if better else "Kept inactive: not better"
    with transaction.atomic():
        _lock_versions()
        now_active = SentimentModel.objects.active().first()
        if better and (now_active and now_active.pk) != (active and active.pk):
            # A manager switched models while this one trained: it beat the model it was
            # compared with, not necessarily the one they chose, so their choice stands.
            better = False
            note = (
                f"Kept inactive: v{now_active.version if now_active else '?'} was activated "
                f"while it trained; it was compared with v{active.version if active else '?'}"
            )
        candidate = SentimentModel.objects.create(
            version=version,
            kind=SentimentModel.Kind.TRAINED,
            training_size=outcome.training_size,
            metrics={
                "candidate": outcome.candidate_metrics,
                "incumbent": outcome.incumbent_metrics,
                "incumbent_version": active.version if active else None,
                "holdout_size": outcome.holdout_size,
            },
            artifact=artifact,
            note=note,
        )
        if better:
            _activate(candidate, by=None)
    return candidate


def activate_sentiment_model(*, model: SentimentModel, by=None) -> SentimentModel:
    """Make ``model`` the one that scores feedback (a manager's roll back or forward).

    Raises ``ValidationError`` when a trained model's artifact is missing or cannot be
    loaded here (another format or library versions): made active, it would score nothing,
    the lexicon would stand in for it unseen, and the re-score pass would re-score every
    row with the lexicon."""
    if model.kind == SentimentModel.Kind.TRAINED:
        problem = artifact_problem(model)
        if problem:
            raise ValidationError(
                f"Model v{model.version} cannot be activated: {problem}.", code="unloadable"
            )
    with transaction.atomic():
        _activate(model, by=by)
    return model


def _lock_versions() -> None:
    list(SentimentModel.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def _activate(model: SentimentModel, *, by) -> None:
    """Switch the active model; call inside a transaction. Every version's row is locked
    first, so two switches at once (a manager's roll back as the nightly training
    activates its model) take turns: the second sees the first's active model and
    replaces it, instead of both ending active against the one-active constraint."""
    _lock_versions()
    # The replaced model's note said how it came to be active, no longer true.
    SentimentModel.objects.active().exclude(pk=model.pk).update(
        is_active=False, note=f"Replaced by v{model.version}"
    )
    model.is_active = True
    model.activated_at = timezone.now()
    model.activated_by = by
    model.save(update_fields=["is_active", "activated_at", "activated_by"])


def rescore_outdated_batch(*, batch_size: int = RESCORE_BATCH_SIZE) -> int:
    """Re-score up to ``batch_size`` rows that an older model scored; return how many."""
    from .services import score_claimed_batch

    scorer = active_scorer()
    outdated = Feedback.objects.filter(analysed_at__isnull=False).exclude(
        Q(sentiment_model=scorer.name) | Q(sentiment_model=STAFF_MODEL_NAME)
    )
    return score_claimed_batch(outdated, scorer=scorer, batch_size=batch_size)


def correct_sentiment(*, feedback: Feedback, label: str, by) -> SentimentCorrection:
    """Record a staff member's label; it replaces the model's label and trains the next model.

    Feedback not analysed yet is analysed first: the correction marks it analysed, and
    the analysis would otherwise never give it its themes and mixed-feedback excerpts."""
    if label not in Feedback.Sentiment.values:
        raise ValidationError({"label": [f'"{label}" is not a sentiment label.']})
    from .services import recount_days, score_claimed_batch

    if feedback.analysed_at is None:
        pending = Feedback.objects.unanalysed().filter(pk=feedback.pk)
        score_claimed_batch(pending, scorer=active_scorer(), batch_size=1)
    with transaction.atomic():
        correction, _ = SentimentCorrection.objects.update_or_create(
            feedback=feedback, defaults={"label": label, "corrected_by": by}
        )
        score = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}[label]
        Feedback.objects.filter(pk=feedback.pk).update(
            sentiment_label=label,
            sentiment_score=score,
            sentiment_model=STAFF_MODEL_NAME,
            analysed_at=timezone.now(),
        )
    recount_days([feedback.received_at.astimezone(dt.UTC).date()])
    return correction
