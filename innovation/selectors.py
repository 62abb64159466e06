"""Read queries of the idea backlog, with their joins applied, for pages and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customization.models import Segment
from feedback.models import Feedback

from .analysis import scoring, similarity
from .models import Idea, IdeaEvidence, IdeaStatusChange, IdeaVote, SegmentWeight

VIEW = "innovation.view_idea"
MANAGE = "innovation.manage_ideas"

# "Find similar" scores the most recent unlinked feedback of this window, at most this many.
FIND_SIMILAR_WINDOW_DAYS = 365
FIND_SIMILAR_MAX_CANDIDATES = 5000
FIND_SIMILAR_LIMIT = 20
# Texts of existing evidence added to the idea's problem as the query.
FIND_SIMILAR_EVIDENCE_TEXTS = 50
# Possible duplicates: live ideas whose title + problem are at least this similar.
DUPLICATE_MIN_SCORE = 0.2
DUPLICATE_LIMIT = 5
DUPLICATE_MAX_CANDIDATES = 2000


def idea_list() -> QuerySet[Idea]:
    """Live ideas (not merged), with what a list row shows."""
    return Idea.objects.live().select_related("product", "theme", "owner")


def get_idea_for_user(user, pk: int, *, live_only: bool = False) -> Idea:
    """The idea ``pk`` if ``user`` may see the backlog: 403 without the right, 404 if absent."""
    if not user.has_perm(VIEW):
        raise PermissionDenied
    ideas = Idea.objects.select_related("product", "theme", "owner", "created_by", "merged_into")
    if live_only:
        ideas = ideas.live()
    return get_object_or_404(ideas, pk=pk)


def _live_segments() -> Prefetch:
    return Prefetch(
        "feedback__customer__segments",
        queryset=Segment.objects.live().only("id", "name").order_by("name"),
    )


def idea_evidence(idea: Idea) -> QuerySet[IdeaEvidence]:
    """The idea's evidence, newest first, with the quote, its customer and their segments."""
    return (
        IdeaEvidence.objects.filter(idea=idea)
        .select_related("feedback", "feedback__customer", "feedback__product", "added_by")
        .prefetch_related(_live_segments())
    )


def idea_votes(idea: Idea) -> QuerySet[IdeaVote]:
    return (
        IdeaVote.objects.filter(idea=idea)
        .select_related("customer", "added_by")
        .order_by("-created_at", "-id")
    )


def idea_history(idea: Idea) -> QuerySet[IdeaStatusChange]:
    return IdeaStatusChange.objects.filter(idea=idea).select_related("changed_by")


def merged_ideas(idea: Idea) -> QuerySet[Idea]:
    return Idea.objects.filter(merged_into=idea).order_by("title")


def merge_targets(idea: Idea) -> QuerySet[Idea]:
    """Live ideas ``idea`` could be merged into."""
    return Idea.objects.live().exclude(pk=idea.pk).only("id", "title").order_by("title")


@dataclass(frozen=True)
class Formulas:
    rice: str
    value_effort: str


def idea_formulas(idea: Idea) -> Formulas:
    """The idea's scores written out with its own numbers."""
    return Formulas(
        rice=scoring.rice_formula(
            reach=idea.reach, impact=idea.impact, confidence=idea.confidence, effort=idea.effort
        ),
        value_effort=scoring.value_effort_formula(value=idea.value, effort=idea.effort),
    )


@dataclass(frozen=True)
class SimilarFeedback:
    feedback: Feedback
    score: float


def _query_texts(idea: Idea) -> list[str]:
    texts = [f"{idea.title}. {idea.problem}"]
    texts += list(
        IdeaEvidence.objects.filter(idea=idea)
        .order_by("-added_at", "-id")
        .values_list("feedback__text", flat=True)[:FIND_SIMILAR_EVIDENCE_TEXTS]
    )
    return texts


def similar_feedback(
    idea: Idea,
    *,
    limit: int = FIND_SIMILAR_LIMIT,
    window_days: int = FIND_SIMILAR_WINDOW_DAYS,
    max_candidates: int = FIND_SIMILAR_MAX_CANDIDATES,
) -> list[SimilarFeedback]:
    """Feedback not yet linked to ``idea`` that reads most like its problem and evidence.

    Candidates: the most recent ``max_candidates`` rows of the last ``window_days`` days
    (so the page stays fast on a large database), ranked by cosine similarity to the
    centroid of the idea's title + problem and its evidence texts."""
    since = timezone.now() - dt.timedelta(days=window_days)
    linked = IdeaEvidence.objects.filter(idea=idea).values("feedback_id")
    candidates = list(
        Feedback.objects.filter(received_at__gte=since)
        .exclude(pk__in=linked)
        .order_by("-received_at", "-id")
        .values_list("pk", "text")[:max_candidates]
    )
    if not candidates:
        return []
    matches = similarity.top_matches(
        _query_texts(idea), [text for _, text in candidates], limit=limit, min_score=0.0
    )
    ids = [candidates[index][0] for index, _ in matches]
    rows = Feedback.objects.select_related("customer", "product").in_bulk(ids)
    return [
        SimilarFeedback(feedback=rows[candidates[index][0]], score=round(score, 3))
        for index, score in matches
        if candidates[index][0] in rows
    ]


@dataclass(frozen=True)
class PossibleDuplicate:
    idea: Idea
    score: float


def possible_duplicates(
    *,
    title: str,
    problem: str,
    exclude_pk: int | None = None,
    limit: int = DUPLICATE_LIMIT,
    min_score: float = DUPLICATE_MIN_SCORE,
) -> list[PossibleDuplicate]:
    """Live ideas whose title and problem read like ``title`` + ``problem``, best first."""
    text = f"{title}. {title}. {problem}".strip(". ")
    if not text:
        return []
    ideas = Idea.objects.live().order_by("-created_at", "-id")
    if exclude_pk:
        ideas = ideas.exclude(pk=exclude_pk)
    candidates = list(ideas.values_list("pk", "title", "problem")[:DUPLICATE_MAX_CANDIDATES])
    if not candidates:
        return []
    matches = similarity.top_matches(
        [text],
        [f"{t}. {t}. {p}" for _, t, p in candidates],
        limit=limit,
        min_score=min_score,
        method=similarity.METHOD_TFIDF,
    )
    rows = Idea.objects.select_related("product").in_bulk([candidates[i][0] for i, _ in matches])
    return [
        PossibleDuplicate(idea=rows[candidates[i][0]], score=round(score, 3))
        for i, score in matches
        if candidates[i][0] in rows
    ]


def ideas_for_feedback(feedback: Feedback) -> QuerySet[IdeaEvidence]:
    """The ideas ``feedback`` is evidence for (merged ones show where they went)."""
    return (
        IdeaEvidence.objects.filter(feedback=feedback)
        .select_related("idea", "idea__merged_into")
        .order_by("idea__title")
    )


def open_ideas_for_select() -> QuerySet[Idea]:
    """Open live ideas for an "add to idea" choice."""
    return Idea.objects.open().only("id", "title").order_by("title")


def ideas_for_theme(theme) -> QuerySet[Idea]:
    return idea_list().filter(theme=theme).order_by("-created_at", "-id")


def top_feedback_ids_for_theme(theme, *, limit: int = 10) -> list[int]:
    """The feedback most strongly about ``theme``, strongest first (evidence for a new idea)."""
    return list(
        theme.feedback_links.order_by("-score", "-feedback__received_at").values_list(
            "feedback_id", flat=True
        )[:limit]
    )


def segment_weights() -> list[tuple[Segment, float]]:
    """Every live segment with its reach weight (1 when none is set)."""
    weights = dict(SegmentWeight.objects.values_list("segment_id", "weight"))
    return [(segment, weights.get(segment.pk, 1.0)) for segment in Segment.objects.live()]
