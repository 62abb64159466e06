"""The idea backlog's rules: ideas, their status, evidence, votes, merges and numbers.

Every front door (pages, API, admin, tasks, the customization promotion and the weekly
suggestions) calls these functions; nothing else writes ideas, evidence or votes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from api import webhooks
from feedback.models import Customer, Feedback

from .analysis import scoring
from .models import Idea, IdeaEvidence, IdeaStatusChange, IdeaVote, SegmentWeight

logger = logging.getLogger(__name__)

# Where an idea may go from each status. Shipped is final; a declined idea can be reopened.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Idea.Status.NEW: frozenset(
        {Idea.Status.UNDER_REVIEW, Idea.Status.PLANNED, Idea.Status.DECLINED}
    ),
    Idea.Status.UNDER_REVIEW: frozenset(
        {Idea.Status.NEW, Idea.Status.PLANNED, Idea.Status.DECLINED}
    ),
    Idea.Status.PLANNED: frozenset(
        {Idea.Status.UNDER_REVIEW, Idea.Status.IN_PROGRESS, Idea.Status.DECLINED}
    ),
    Idea.Status.IN_PROGRESS: frozenset(
        {Idea.Status.PLANNED, Idea.Status.SHIPPED, Idea.Status.DECLINED}
    ),
    Idea.Status.SHIPPED: frozenset(),
    Idea.Status.DECLINED: frozenset({Idea.Status.UNDER_REVIEW}),
}

# Ideas refreshed per round of aggregate queries (an IN list SQLite and PostgreSQL both take).
REFRESH_BATCH = 500
# Rows per UPDATE of the refreshed numbers.
UPDATE_BATCH = 250

NUMBER_FIELDS = [
    "evidence_count",
    "customer_count",
    "internal_customer_count",
    "external_customer_count",
    "value_at_stake",
    "segment_counts",
    "vote_count",
    "reach",
    "rice_score",
    "value_effort_score",
    "evidence_refreshed_at",
]
# The manager's prioritisation inputs, (lowest, highest). Effort's floor and value's ceiling
# keep every score a finite number: value 1e308 ÷ effort 0.5 would be infinite, which no
# page can print and JSON cannot carry.
EFFORT_MIN = 0.001
VALUE_MAX = 1_000_000
SCORE_LIMITS = {
    "impact": (0, 10),
    "confidence": (0, 1),
    "effort": (EFFORT_MIN, None),
    "value": (0, VALUE_MAX),
}


def allowed_next_statuses(idea: Idea) -> list[str]:
    """The statuses ``idea`` may move to now, in the order of ``Idea.Status``."""
    if idea.merged_into_id:
        return []
    allowed = ALLOWED_TRANSITIONS[idea.status]
    return [value for value in Idea.Status.values if value in allowed]


def _require_live(idea: Idea) -> None:
    if idea.merged_into_id:
        raise ValidationError(
            f"This idea was merged into #{idea.merged_into_id}; unmerge it first.",
            code="merged",
        )


def _existing_feedback_ids(feedback_ids: Iterable[int]) -> list[int]:
    try:
        wanted = list(dict.fromkeys(int(pk) for pk in feedback_ids))
    except (TypeError, ValueError) as exc:
        raise ValidationError({"feedback_ids": "Feedback ids must be whole numbers."}) from exc
    found = set(Feedback.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ValidationError(
            {"feedback_ids": f"No feedback with id {', '.join(map(str, missing[:10]))}."}
        )
    return wanted


def _link_evidence(
    *,
    idea: Idea,
    feedback_ids: list[int],
    source: str,
    by,
    similarities: Mapping[int, float] | None = None,
) -> int:
    already = set(
        IdeaEvidence.objects.filter(idea=idea, feedback_id__in=feedback_ids).values_list(
            "feedback_id", flat=True
        )
    )
    rows = [
        IdeaEvidence(
            idea=idea,
            feedback_id=pk,
            source=source,
            similarity=(similarities or {}).get(pk),
            added_by=by,
        )
        for pk in feedback_ids
        if pk not in already
    ]
    # ignore_conflicts: a concurrent request linking the same feedback is not an error.
    IdeaEvidence.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _validated(idea: Idea) -> None:
    try:
        idea.full_clean(
            exclude=["segment_counts", "impact_details", "merged_into", "created_by", "owner"]
        )
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


@transaction.atomic
def create_idea(
    *,
    title: str,
    problem: str,
    created_by,
    proposed_solution: str = "",
    product=None,
    theme=None,
    owner=None,
    origin: str = Idea.Origin.MANUAL,
    feedback_ids: Iterable[int] = (),
    evidence_source: str = IdeaEvidence.Source.MANUAL,
) -> Idea:
    """Create an idea with its first status row (NEW) and its evidence links.

    ``feedback_ids`` must all exist. The idea's numbers are refreshed before returning.
    Raises ``ValidationError`` (field messages) on a blank title or problem, unknown
    feedback, or a bad origin/evidence source.
    """
    idea = Idea(
        title=(title or "").strip(),
        problem=(problem or "").strip(),
        proposed_solution=(proposed_solution or "").strip(),
        product=product,
        theme=theme,
        owner=owner,
        created_by=created_by,
        origin=origin,
        status=Idea.Status.NEW,
    )
    _validated(idea)
    if evidence_source not in IdeaEvidence.Source.values:
        raise ValidationError({"evidence_source": "Unknown evidence source."})
    wanted = _existing_feedback_ids(feedback_ids)
    idea.save()
    IdeaStatusChange.objects.create(
        idea=idea, from_status="", to_status=Idea.Status.NEW, changed_by=created_by
    )
    if wanted:
        _link_evidence(idea=idea, feedback_ids=wanted, source=evidence_source, by=created_by)
    refresh_idea_numbers(idea_ids=[idea.pk])
    idea.refresh_from_db()
    return idea


@transaction.atomic
def update_idea(*, idea: Idea, by, **changes) -> Idea:
    """Edit an idea's description: title, problem, proposed_solution, product, theme, owner.

    Raises ``ValidationError`` on other fields, blank title/problem, or a merged idea."""
    editable = {"title", "problem", "proposed_solution", "product", "theme", "owner"}
    unknown = set(changes) - editable
    if unknown:
        raise ValidationError(f"Cannot edit {', '.join(sorted(unknown))} here.")
    _require_live(idea)
    for field, value in changes.items():
        setattr(idea, field, value.strip() if isinstance(value, str) else value)
    _validated(idea)
    idea.save(update_fields=[*changes, "updated_at"])
    return idea


@transaction.atomic
def set_idea_scores(
    *,
    idea: Idea,
    by,
    impact: float | None,
    confidence: float | None,
    effort: float | None,
    value: float | None,
) -> Idea:
    """Set the manager's prioritisation inputs and recompute the idea's scores.

    Impact 0–10 (0.25 minimal … 3 massive is the usual scale), confidence 0–1, effort in
    person-months from ``EFFORT_MIN``, value 0–``VALUE_MAX``; any may be None (the score that
    needs it is then None).
    """
    inputs = {"impact": impact, "confidence": confidence, "effort": effort, "value": value}
    errors = {}
    for name, number in inputs.items():
        if number is None:
            continue
        low, high = SCORE_LIMITS[name]
        if not math.isfinite(number) or number < low or (high is not None and number > high):
            errors[name] = (
                f"Must be between {low:g} and {high:g}."
                if high is not None
                else f"Must be at least {low:g}."
            )
    if effort is not None and effort <= 0:
        errors["effort"] = "Effort must be more than 0."
    if errors:
        raise ValidationError(errors)
    # The stored reach, not the caller's copy: evidence may have changed since it was read.
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    _require_live(idea)
    for name, number in inputs.items():
        setattr(idea, name, number)
    idea.rice_score = scoring.rice(
        reach=idea.reach, impact=impact, confidence=confidence, effort=effort
    )
    idea.value_effort_score = scoring.value_effort(value=value, effort=effort)
    idea.save(update_fields=[*inputs, "rice_score", "value_effort_score", "updated_at"])
    return idea


def _enqueue_close_the_loop(idea_id: int) -> None:
    from .tasks import close_the_loop_task

    try:
        close_the_loop_task.delay(idea_id=idea_id)
    except KombuOperationalError:
        # The shipping is committed either way; the messages can be sent again later
        # (close_the_loop sends nothing twice).
        logger.exception("close-the-loop for idea %s not queued: broker unreachable", idea_id)


@transaction.atomic
def change_idea_status(*, idea: Idea, to_status: str, by, note: str = "") -> Idea:
    """Move ``idea`` to ``to_status`` if the transition is allowed, and record it.

    Shipping sets ``shipped_at``, ``impact_check_due`` (today + IDEA_IMPACT_CHECK_WEEKS
    weeks) and, after commit, enqueues the close-the-loop messages; declining takes the
    idea off the roadmap. Raises ``ValidationError`` on an unknown or disallowed status or
    a merged idea.
    """
    if to_status not in Idea.Status.values:
        raise ValidationError({"to_status": f"Unknown status {to_status!r}."})
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    _require_live(idea)
    if to_status not in ALLOWED_TRANSITIONS[idea.status]:
        raise ValidationError(
            {
                "to_status": (
                    f"An idea cannot go from {Idea.Status(idea.status).label} to "
                    f"{Idea.Status(to_status).label}."
                )
            },
            code="transition",
        )
    from_status = idea.status
    idea.status = to_status
    fields = ["status", "updated_at"]
    if to_status == Idea.Status.DECLINED and idea.lane:
        # Off the roadmap: reopened later, it should not reappear in its old lane (nor on
        # the public roadmap) as if it had been planned all along.
        idea.lane, idea.lane_position = "", 0
        fields += ["lane", "lane_position"]
    if to_status == Idea.Status.SHIPPED:
        idea.shipped_at = timezone.now()
        idea.impact_check_due = timezone.localdate() + dt.timedelta(
            weeks=settings.IDEA_IMPACT_CHECK_WEEKS
        )
        fields += ["shipped_at", "impact_check_due"]
    idea.save(update_fields=fields)
    IdeaStatusChange.objects.create(
        idea=idea, from_status=from_status, to_status=to_status, changed_by=by, note=note.strip()
    )
    if to_status == Idea.Status.SHIPPED:
        idea_id = idea.pk
        transaction.on_commit(lambda: _enqueue_close_the_loop(idea_id))
    webhooks.emit(
        "idea.status_changed",
        {"id": idea.pk, "status": to_status, "previous_status": from_status},
    )
    return idea


@transaction.atomic
def add_evidence(
    *,
    idea: Idea,
    feedback_ids: Iterable[int],
    by,
    source: str = IdeaEvidence.Source.MANUAL,
    similarities: Mapping[int, float] | None = None,
) -> int:
    """Link feedback to ``idea`` as evidence; feedback already linked is skipped.

    ``similarities`` gives the find-similar score per feedback id (source ``similar``).
    Returns how many links were created; refreshes the idea's numbers. Raises
    ``ValidationError`` for unknown feedback, an empty list or a merged idea."""
    _require_live(idea)
    if source not in IdeaEvidence.Source.values:
        raise ValidationError({"source": "Unknown evidence source."})
    wanted = _existing_feedback_ids(feedback_ids)
    if not wanted:
        raise ValidationError({"feedback_ids": "Choose at least one piece of feedback."})
    created = _link_evidence(
        idea=idea, feedback_ids=wanted, source=source, by=by, similarities=similarities
    )
    refresh_idea_numbers(idea_ids=[idea.pk])
    return created


def _unlink(idea: Idea, rows) -> bool:
    _require_live(idea)
    deleted, _ = rows.delete()
    if deleted:
        refresh_idea_numbers(idea_ids=[idea.pk])
    return bool(deleted)


@transaction.atomic
def remove_evidence(*, idea: Idea, feedback_id: int, by) -> bool:
    """Unlink one feedback from ``idea``; True when a link was removed."""
    return _unlink(idea, IdeaEvidence.objects.filter(idea=idea, feedback_id=feedback_id))


@transaction.atomic
def record_vote(*, idea: Idea, customer: Customer, by) -> tuple[IdeaVote, bool]:
    """Record that ``customer`` wants ``idea`` (once per customer); returns (vote, created)."""
    _require_live(idea)
    vote, created = IdeaVote.objects.get_or_create(
        idea=idea, customer=customer, defaults={"added_by": by}
    )
    if created:
        refresh_idea_numbers(idea_ids=[idea.pk])
    return vote, created


@transaction.atomic
def remove_vote(*, idea: Idea, customer_id: int, by) -> bool:
    """Remove ``customer_id``'s vote for ``idea``; True when there was one."""
    return _unlink(idea, IdeaVote.objects.filter(idea=idea, customer_id=customer_id))


@transaction.atomic
def merge_ideas(*, source: Idea, target: Idea, by) -> Idea:
    """Merge ``source`` into ``target``: its evidence and votes move to ``target``.

    Moved rows are marked ``merged_from=source``. Evidence for feedback (and votes of
    customers) that ``target`` already has stay on ``source``, so :func:`unmerge_idea`
    gives back exactly what ``source`` had. Raises ``ValidationError`` when either idea is
    merged, they are the same, or ``source`` has ideas merged into it (unmerge those first,
    or merge them into ``target`` directly: their rows carry their own ``merged_from``).
    """
    ideas = {
        i.pk: i for i in Idea.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
    }
    if source.pk == target.pk:
        raise ValidationError({"target": "An idea cannot be merged into itself."})
    source, target = ideas[source.pk], ideas[target.pk]
    if source.merged_into_id:
        raise ValidationError({"source": "This idea is already merged."})
    if target.merged_into_id:
        raise ValidationError({"target": "That idea is merged into another one."})
    if Idea.objects.filter(merged_into=source).exists():
        raise ValidationError(
            {"source": "Other ideas are merged into this one: unmerge them first."}
        )
    on_target = IdeaEvidence.objects.filter(idea=target).values("feedback_id")
    IdeaEvidence.objects.filter(idea=source).exclude(feedback_id__in=on_target).update(
        idea=target, merged_from=source
    )
    voted_on_target = IdeaVote.objects.filter(idea=target).values("customer_id")
    IdeaVote.objects.filter(idea=source).exclude(customer_id__in=voted_on_target).update(
        idea=target, merged_from=source
    )
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    IdeaStatusChange.objects.create(
        idea=source,
        from_status=source.status,
        to_status=source.status,
        changed_by=by,
        note=f"Merged into #{target.pk} {target.title}",
    )
    refresh_idea_numbers(idea_ids=[source.pk, target.pk])
    target.refresh_from_db()
    return target


@transaction.atomic
def unmerge_idea(*, idea: Idea, by) -> Idea:
    """Undo :func:`merge_ideas`: ``idea`` is live again with exactly its evidence and votes."""
    idea = Idea.objects.select_for_update().get(pk=idea.pk)
    target_id = idea.merged_into_id
    if not target_id:
        raise ValidationError("This idea is not merged.")
    IdeaEvidence.objects.filter(idea_id=target_id, merged_from=idea).update(
        idea=idea, merged_from=None
    )
    IdeaVote.objects.filter(idea_id=target_id, merged_from=idea).update(idea=idea, merged_from=None)
    idea.merged_into = None
    idea.save(update_fields=["merged_into", "updated_at"])
    IdeaStatusChange.objects.create(
        idea=idea,
        from_status=idea.status,
        to_status=idea.status,
        changed_by=by,
        note=f"Unmerged from #{target_id}",
    )
    refresh_idea_numbers(idea_ids=[idea.pk, target_id])
    idea.refresh_from_db()
    return idea


@transaction.atomic
def set_segment_weights(*, weights: Mapping[int, float], by) -> int:
    """Set reach weights per segment id (≥ 0; 1 is the default) and refresh every idea."""
    errors = {str(pk): "A weight is 0 or more." for pk, w in weights.items() if w < 0}
    if errors:
        raise ValidationError(errors)
    existing = {w.segment_id: w for w in SegmentWeight.objects.filter(segment_id__in=weights)}
    changed = []
    for segment_id, weight in weights.items():
        row = existing.get(segment_id)
        if row is None:
            SegmentWeight.objects.create(segment_id=segment_id, weight=weight)
            changed.append(segment_id)
        elif row.weight != weight:
            row.weight = weight
            row.save(update_fields=["weight"])
            changed.append(segment_id)
    if changed:
        transaction.on_commit(_enqueue_refresh_all)
    return len(changed)


def _enqueue_refresh_all() -> None:
    from .tasks import refresh_idea_numbers_task

    try:
        refresh_idea_numbers_task.delay()
    except KombuOperationalError:
        logger.exception("score refresh not queued: broker unreachable; it runs nightly")


# --- numbers ------------------------------------------------------------------------------


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _pairs_sql(id_filter: str) -> str:
    """Unique (idea, customer) pairs: customers of the evidence and customers who voted."""
    evidence, feedback, vote = _table(IdeaEvidence), _table(Feedback), _table(IdeaVote)
    return (
        f"SELECT e.idea_id AS idea_id, f.customer_id AS customer_id "
        f"FROM {evidence} e JOIN {feedback} f ON f.id = e.feedback_id "
        f"WHERE f.customer_id IS NOT NULL {id_filter.format(col='e.idea_id')} "
        f"UNION "
        f"SELECT v.idea_id, v.customer_id FROM {vote} v "
        f"WHERE 1 = 1 {id_filter.format(col='v.idea_id')}"
    )


# The batch's unique (idea, customer) pairs, computed once and read by two aggregates.
PAIRS_TABLE = "innovation_refresh_pairs"


def _aggregate_numbers(idea_ids: list[int] | None) -> dict[int, dict]:
    """Evidence and customer numbers per idea: one temporary table of the unique
    (idea, customer) pairs, then three aggregate queries. Runs in the caller's transaction.
    """
    from customization.models import Segment

    if idea_ids is None:
        id_filter, params = "", []
    else:
        id_filter = "AND {col} IN (" + ", ".join(["%s"] * len(idea_ids)) + ")"
        params = list(idea_ids)
    numbers: dict[int, dict] = {}

    def row(idea_id: int) -> dict:
        return numbers.setdefault(idea_id, _empty_numbers())

    evidence, vote, customer = _table(IdeaEvidence), _table(IdeaVote), _table(Customer)
    membership = _table(Segment.customers.through)
    segment, weight = _table(Segment), _table(SegmentWeight)
    pairs = connection.ops.quote_name(PAIRS_TABLE)
    # A customer counts with the highest weight of the live segments they are in, 1 when
    # in none; a segment without a weight row weighs 1.
    customer_weight = (
        f"SELECT m.customer_id AS customer_id, MAX(COALESCE(w.weight, 1.0)) AS weight "
        f"FROM {membership} m JOIN {segment} s ON s.id = m.segment_id AND s.status = %s "
        f"LEFT JOIN {weight} w ON w.segment_id = m.segment_id "
        f"WHERE m.customer_id IN (SELECT customer_id FROM {pairs}) GROUP BY m.customer_id"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # These aggregates run in seconds; compiling them (JIT) took longer than that.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"DROP TABLE IF EXISTS {pairs}")
        cursor.execute(f"CREATE TEMPORARY TABLE {pairs} AS {_pairs_sql(id_filter)}", params * 2)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {pairs}")  # temporary tables get no statistics otherwise
        cursor.execute(
            f"SELECT idea_id, SUM(evidence), SUM(votes) FROM ("
            f"SELECT e.idea_id AS idea_id, 1 AS evidence, 0 AS votes FROM {evidence} e "
            f"WHERE 1 = 1 {id_filter.format(col='e.idea_id')} UNION ALL "
            f"SELECT v.idea_id, 0, 1 FROM {vote} v WHERE 1 = 1 {id_filter.format(col='v.idea_id')}"
            f") links GROUP BY idea_id",
            params * 2,
        )
        for idea_id, evidence_count, vote_count in cursor.fetchall():
            row(idea_id).update(evidence_count=int(evidence_count), vote_count=int(vote_count))
        cursor.execute(
            f"SELECT p.idea_id, COUNT(*), "
            f"SUM(CASE WHEN c.kind = %s THEN 1 ELSE 0 END), "
            f"SUM(c.annual_value), SUM(COALESCE(cw.weight, 1.0)) "
            f"FROM {pairs} p JOIN {customer} c ON c.id = p.customer_id "
            f"LEFT JOIN ({customer_weight}) cw ON cw.customer_id = p.customer_id "
            f"GROUP BY p.idea_id",
            [Customer.Kind.INTERNAL, Segment.Status.ACTIVE],
        )
        for idea_id, count, internal, value, reach in cursor.fetchall():
            numbers_row = row(idea_id)
            numbers_row["customer_count"] = count
            numbers_row["internal_customer_count"] = int(internal or 0)
            numbers_row["external_customer_count"] = count - int(internal or 0)
            numbers_row["value_at_stake"] = Decimal(value or 0).quantize(Decimal("0.01"))
            numbers_row["reach"] = float(reach or 0)
        cursor.execute(
            f"SELECT p.idea_id, s.name, COUNT(*) FROM {pairs} p "
            f"JOIN {membership} m ON m.customer_id = p.customer_id "
            f"JOIN {segment} s ON s.id = m.segment_id AND s.status = %s "
            f"GROUP BY p.idea_id, s.name",
            [Segment.Status.ACTIVE],
        )
        for idea_id, name, count in cursor.fetchall():
            row(idea_id)["segment_counts"][name] = count
        cursor.execute(f"DROP TABLE {pairs}")
    return numbers


@transaction.atomic
def _refresh_batch(idea_ids: list[int] | None, now) -> int:
    numbers = _aggregate_numbers(idea_ids)
    ideas = Idea.objects.only("id", "impact", "confidence", "effort", "value")
    if idea_ids is not None:
        ideas = ideas.filter(pk__in=idea_ids)
    empty = _empty_numbers()
    changed = []
    for idea in ideas.order_by("pk").iterator(chunk_size=2000):
        for field, value in numbers.get(idea.pk, empty).items():
            setattr(idea, field, value)
        idea.segment_counts = dict(sorted(idea.segment_counts.items()))
        idea.rice_score = scoring.rice(
            reach=idea.reach, impact=idea.impact, confidence=idea.confidence, effort=idea.effort
        )
        idea.value_effort_score = scoring.value_effort(value=idea.value, effort=idea.effort)
        idea.evidence_refreshed_at = now
        changed.append(idea)
    Idea.objects.bulk_update(changed, NUMBER_FIELDS, batch_size=UPDATE_BATCH)
    return len(changed)


def _empty_numbers() -> dict:
    return {
        "evidence_count": 0,
        "customer_count": 0,
        "internal_customer_count": 0,
        "external_customer_count": 0,
        "value_at_stake": Decimal(0),
        "segment_counts": {},
        "vote_count": 0,
        "reach": 0.0,
    }


def refresh_idea_numbers(*, idea_ids: Iterable[int] | None = None) -> int:
    """Recompute the evidence numbers and scores of ``idea_ids`` (all ideas when None).

    Set-based: a temporary table of unique (idea, customer) pairs and three aggregate
    queries per batch of ``REFRESH_BATCH`` ideas (one batch for all ideas when ``idea_ids``
    is None), then ``bulk_update``; each batch in one transaction. Numbers:

    * evidence_count — linked feedback; vote_count — votes;
    * customer_count — unique customers among the evidence's authors and the voters,
      split into internal/external; value_at_stake — the sum of their annual value;
    * segment_counts — unique customers per live segment;
    * reach — unique customers, each weighted by the highest SegmentWeight of the live
      segments they are in (1 when in none, or for a segment without a weight);
    * rice_score = reach × impact × confidence ÷ effort; value_effort_score = value ÷ effort.

    Returns how many ideas were updated.
    """
    now = timezone.now()
    if idea_ids is None:
        return _refresh_batch(None, now)
    ids = sorted({int(pk) for pk in idea_ids})
    updated = 0
    for start in range(0, len(ids), REFRESH_BATCH):
        updated += _refresh_batch(ids[start : start + REFRESH_BATCH], now)
    return updated
