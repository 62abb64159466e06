"""Segment writes: rule segments and their membership, suggestions from clustering."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from feedback.models import Customer
from insights.services import refresh_daily_segment_stats

from . import segment_rules, selectors
from .analysis import clustering
from .models import Segment
from .services import refresh_customer_request_values, refresh_segment_request_values

logger = logging.getLogger(__name__)


def _check_name(name: str, *, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the segment a name."]})
    if len(name) > 120:
        raise ValidationError({"name": ["120 characters at most."]})
    taken = Segment.objects.filter(name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(
            {"name": ValidationError("A segment with this name already exists.", code="duplicate")}
        )
    return name


def create_rule_segment(
    *, name: str, rules: list, description: str = "", created_by=None
) -> Segment:
    """Create an active rule segment and fill its membership.

    Raises ``ValidationError`` (``name`` or ``rules``) for a taken name or bad rules.
    """
    cleaned = segment_rules.validate_rules(rules)
    with transaction.atomic():
        segment = Segment.objects.create(
            name=_check_name(name),
            description=description,
            kind=Segment.Kind.RULE,
            status=Segment.Status.ACTIVE,
            rules=cleaned,
            created_by=created_by,
        )
        refresh_segment_membership(segment=segment)
    segment.refresh_from_db()
    return segment


def update_segment(
    *, segment: Segment, name: str | None = None, description: str | None = None, rules=None
) -> Segment:
    """Rename, describe or re-rule a segment; new rules refresh its membership at once.

    Rules can only be set on a rule segment (``ValidationError`` otherwise).
    """
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if name is not None:
            segment.name = _check_name(name, exclude_pk=segment.pk)
        if description is not None:
            segment.description = description
        if rules is not None:
            if segment.kind != Segment.Kind.RULE:
                raise ValidationError({"rules": ["Only a rule segment has rules."]})
            segment.rules = segment_rules.validate_rules(rules)
        segment.save()
        if rules is not None:
            refresh_segment_membership(segment=segment)
    segment.refresh_from_db()
    return segment


def refresh_segment_membership(*, segment: Segment) -> int:
    """Re-materialise a rule segment's members from its rules; return the member count.

    Runs the compiled rules as one query, replaces ``segment.customers`` with the result
    under a row lock on the segment (two refreshes of one segment cannot interleave), and
    brings the value at stake of its open requests up to date. Other kinds keep their
    members; only their count and the request values are refreshed.
    """
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        if segment.kind == Segment.Kind.RULE:
            matching = segment_rules.compile_rules(segment_rules.validate_rules(segment.rules))
            ids = list(Customer.objects.filter(matching).values_list("pk", flat=True))
            segment.customers.set(ids)
            count = len(ids)
        else:
            count = segment.customers.count()
        segment.member_count = count
        segment.membership_refreshed_at = timezone.now()
        segment.save(update_fields=["member_count", "membership_refreshed_at", "updated_at"])
        refresh_segment_request_values(segment=segment)
        refresh_daily_segment_stats(segment_ids=[segment.pk])
    return count


def refresh_all_segments() -> int:
    """Refresh every active segment; return how many were refreshed.

    Rule segments are matched again. Manual and accepted suggested segments keep their
    members, but their count is redone when it no longer agrees (a member was deleted)
    and the value at stake of their open requests follows the members' annual values;
    so does the value of open requests for one customer. A rule segment whose stored
    rules no longer validate (a product slug renamed) is logged and skipped, so one bad
    segment does not stop the others.
    """
    refreshed = 0
    segments = (
        Segment.objects.live()
        .annotate(members_now=Count("customers"))
        .values_list("pk", "kind", "member_count", "members_now")
    )
    for pk, kind, member_count, members_now in segments:
        if kind == Segment.Kind.RULE or member_count != members_now:
            try:
                refresh_segment_membership(segment=Segment(pk=pk))
            except ValidationError:
                logger.warning("segment %s has invalid rules; membership left as it was", pk)
                continue
        else:
            refresh_segment_request_values(segment=Segment(pk=pk))
        refreshed += 1
    refresh_customer_request_values()
    return refreshed


# --- suggestions -------------------------------------------------------------------------------


def _free_name(base: str, taken: set[str]) -> str:
    name = f"Suggested: {base}"[:110]
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate = f"{name} ({n})"
        n += 1
    taken.add(candidate.lower())
    return candidate


def suggest_segments(*, seed: int | None = None, max_clusters: int | None = None) -> list[Segment]:
    """Cluster the customers and store each cluster as a pending suggested segment.

    Pending suggestions from an earlier run are replaced; accepted and discarded ones are
    never touched, and a cluster of (nearly) the same customers as one of them is not
    suggested again. The same data and seed give the same suggestions.
    """
    seed = settings.SEGMENT_SUGGESTION_SEED if seed is None else seed
    max_clusters = (
        settings.SEGMENT_SUGGESTION_MAX_CLUSTERS if max_clusters is None else max_clusters
    )
    customers, themes = selectors.clustering_input()
    decided = selectors.decided_suggestion_members()
    suggestions = [
        suggestion
        for suggestion in clustering.suggest_segments(
            customers, themes, max_clusters=max_clusters, seed=seed
        )
        if not clustering.repeats_one_of(suggestion.customer_ids, decided)
    ]
    with transaction.atomic():
        pending = Segment.objects.filter(
            kind=Segment.Kind.SUGGESTED, status=Segment.Status.SUGGESTED
        ).select_for_update()
        # A pending suggestion never carries requests (only live segments are offered),
        # but the foreign key protects it: such a one is left in place.
        pending.filter(customization_requests__isnull=True).delete()
        taken = {name.lower() for name in Segment.objects.values_list("name", flat=True)}
        created = []
        now = timezone.now()
        for suggestion in suggestions:
            segment = Segment.objects.create(
                name=_free_name(suggestion.name, taken),
                kind=Segment.Kind.SUGGESTED,
                status=Segment.Status.SUGGESTED,
                description=f"{suggestion.size} customers found alike by clustering.",
                traits=suggestion.traits,
                top_themes=suggestion.top_themes,
                member_count=suggestion.size,
                membership_refreshed_at=now,
            )
            segment.customers.set(suggestion.customer_ids)
            created.append(segment)
    return created


def _pending_suggestion(segment: Segment) -> Segment:
    segment = Segment.objects.select_for_update().get(pk=segment.pk)
    if segment.status != Segment.Status.SUGGESTED:
        raise ValidationError("Only a pending suggestion can be accepted or discarded.")
    return segment


def accept_suggestion(*, segment: Segment, name: str | None = None) -> Segment:
    """Make a pending suggestion an active segment, optionally under a new name.

    Its members stay those the clustering found. Raises ``ValidationError`` when the
    segment is not a pending suggestion or the name is taken.
    """
    with transaction.atomic():
        segment = _pending_suggestion(segment)
        if name:
            segment.name = _check_name(name, exclude_pk=segment.pk)
        segment.status = Segment.Status.ACTIVE
        segment.save()
    # The dashboard's segment figures start from the members the clustering found.
    refresh_daily_segment_stats(segment_ids=[segment.pk])
    return segment


def discard_suggestion(*, segment: Segment) -> Segment:
    """Set a pending suggestion aside; re-runs do not suggest the same customers again."""
    with transaction.atomic():
        segment = _pending_suggestion(segment)
        segment.status = Segment.Status.DISCARDED
        segment.save(update_fields=["status", "updated_at"])
    return segment


def request_segment_suggestions() -> None:
    """Queue a clustering run (a manager's "suggest segments now"), after the commit."""
    from .tasks import suggest_segments_task

    def send() -> None:
        try:
            suggest_segments_task.apply_async(retry=False)
        except Exception:  # broker down: the weekly run will come
            logger.warning("segment suggestion run not queued", exc_info=True)

    transaction.on_commit(send)
