"""The roadmap (now / next / later), the changelog and the public roadmap: rules and reads.

An idea is on the roadmap when it is live, open (not shipped or declined) and has a lane;
``lane_position`` orders a lane from 0. Placing an idea in a lane plans it: a new or
under-review idea becomes "planned" through the backlog's status service. Shipping from the
roadmap records the release note first, then walks the idea through the statuses the
backlog requires (planned → in progress → shipped), so its history shows every step and
the close-the-loop messages go out after the commit with the note in them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F

from .models import Idea

LANES = [Idea.Lane.NOW, Idea.Lane.NEXT, Idea.Lane.LATER]
CLOSED = [Idea.Status.SHIPPED, Idea.Status.DECLINED]
# Open ideas shown under "not on the roadmap yet", best scored first.
UNPLACED_LIMIT = 50
PUBLIC_CHANGELOG_LIMIT = 50
CHANGELOG_PAGE_SIZE = 50
# The statuses an idea passes through on its way to shipped, from each open status.
_PATH_TO_SHIPPED = {
    Idea.Status.NEW: [Idea.Status.PLANNED, Idea.Status.IN_PROGRESS, Idea.Status.SHIPPED],
    Idea.Status.UNDER_REVIEW: [Idea.Status.PLANNED, Idea.Status.IN_PROGRESS, Idea.Status.SHIPPED],
    Idea.Status.PLANNED: [Idea.Status.IN_PROGRESS, Idea.Status.SHIPPED],
    Idea.Status.IN_PROGRESS: [Idea.Status.SHIPPED],
}


# --- Reads ------------------------------------------------------------------------------


def on_roadmap():
    """Live open ideas that have a lane (any product)."""
    return Idea.objects.live().exclude(status__in=CLOSED).exclude(lane="")


def _for_product(ideas, product):
    return ideas.filter(product=product) if product is not None else ideas


@dataclass
class Lane:
    value: str
    label: str
    ideas: list[Idea] = field(default_factory=list)


def roadmap_lanes(*, product=None) -> list[Lane]:
    """Now, next and later with their ideas in order (one query)."""
    lanes = {value: Lane(value, Idea.Lane(value).label) for value in LANES}
    ideas = _for_product(on_roadmap(), product).select_related("product", "theme", "owner")
    for idea in ideas.order_by("lane_position", "pk"):
        lanes[idea.lane].ideas.append(idea)
    return list(lanes.values())


def unplaced_ideas(*, product=None, limit: int = UNPLACED_LIMIT) -> list[Idea]:
    """Open live ideas without a lane, best RICE score first (the ones to place next)."""
    ideas = Idea.objects.live().exclude(status__in=CLOSED).filter(lane="")
    return list(
        _for_product(ideas, product)
        .select_related("product", "theme")
        .order_by(F("rice_score").desc(nulls_last=True), "-created_at", "-pk")[:limit]
    )


def roadmap_item(pk: int) -> Idea:
    """One idea with what its roadmap page shows; ``Idea.DoesNotExist`` when absent."""
    return (
        Idea.objects.select_related("product", "theme", "owner", "merged_into")
        .annotate(told=Count("loop_messages"))
        .get(pk=pk)
    )


def changelog(*, product=None):
    """Shipped live ideas, newest first, with how many customers were told."""
    ideas = Idea.objects.live().filter(status=Idea.Status.SHIPPED, shipped_at__isnull=False)
    return (
        _for_product(ideas, product)
        .select_related("product", "theme")
        .annotate(told=Count("loop_messages"))
        .order_by("-shipped_at", "-pk")
    )


def by_month(ideas) -> list[tuple[dt.date, list[Idea]]]:
    """Group shipped ideas (newest first) by the UTC month they shipped in."""
    months: list[tuple[dt.date, list[Idea]]] = []
    for idea in ideas:
        month = idea.shipped_at.astimezone(dt.UTC).date().replace(day=1)
        if not months or months[-1][0] != month:
            months.append((month, []))
        months[-1][1].append(idea)
    return months


def public_lanes() -> list[Lane]:
    """The public roadmap: only ideas marked public, only what may be shown to anyone."""
    lanes = {value: Lane(value, Idea.Lane(value).label) for value in LANES}
    ideas = on_roadmap().filter(public=True).only("pk", "title", "lane", "lane_position")
    for idea in ideas.order_by("lane_position", "pk"):
        lanes[idea.lane].ideas.append(idea)
    return list(lanes.values())


def public_changelog(*, limit: int = PUBLIC_CHANGELOG_LIMIT) -> list[Idea]:
    return list(
        Idea.objects.live()
        .filter(status=Idea.Status.SHIPPED, shipped_at__isnull=False, public=True)
        .only("pk", "title", "release_note", "shipped_at")
        .order_by("-shipped_at", "-pk")[:limit]
    )


# --- Writes -----------------------------------------------------------------------------


def _require_open(idea: Idea) -> None:
    if idea.merged_into_id:
        raise ValidationError(
            f"This idea was merged into #{idea.merged_into_id}; it is not on the roadmap.",
            code="merged",
        )
    if idea.status in CLOSED:
        raise ValidationError(
            f"A {idea.get_status_display().lower()} idea is no longer on the roadmap.",
            code="closed",
        )


def _target_index(order: list[int], *, position, before, after) -> int:
    """Where in ``order`` (ids, the moved idea already taken out) the idea goes."""
    given = [name for name, value in (("position", position), ("before", before),
                                      ("after", after)) if value is not None]  # fmt: skip
    if len(given) > 1:
        raise ValidationError("Give a position, or the idea to go before or after, not both.")
    if position is not None:
        if position < 0:
            raise ValidationError({"position": "The position cannot be negative."})
        return min(position, len(order))
    neighbour = before if before is not None else after
    if neighbour is None:
        return len(order)
    if neighbour not in order:
        field_name = "before" if before is not None else "after"
        raise ValidationError({field_name: "That idea is not in this lane."})
    return order.index(neighbour) + (0 if before is not None else 1)


@transaction.atomic
def move_idea(
    *,
    idea: Idea,
    lane: str,
    by,
    position: int | None = None,
    before: int | None = None,
    after: int | None = None,
) -> Idea:
    """Put ``idea`` in ``lane`` at ``position`` (0 = top), or just ``before``/``after``
    another idea of that lane, or at the end when none is given; ``lane=""`` takes it off
    the roadmap. Both lanes are renumbered 0, 1, 2, … A new or under-review idea placed in
    a lane becomes planned.

    Locks the idea and every open idea of the lanes involved (in id order, so two moves
    cannot deadlock). Raises ``ValidationError`` on an unknown lane, a shipped, declined
    or merged idea, or a neighbour that is not in the lane.
    """
    if lane not in {"", *LANES}:
        raise ValidationError({"lane": f"Unknown lane {lane!r}."})
    current = Idea.objects.select_for_update().get(pk=idea.pk)
    _require_open(current)
    lanes = {current.lane, lane} - {""}
    rows = list(
        Idea.objects.select_for_update()
        .live()
        .exclude(status__in=CLOSED)
        .filter(lane__in=lanes)
        .order_by("pk")
    )
    by_lane: dict[str, list[Idea]] = {name: [] for name in lanes}
    for row in rows:
        if row.pk != current.pk:
            by_lane[row.lane].append(row)
    for members in by_lane.values():
        members.sort(key=lambda row: (row.lane_position, row.pk))
    changed: list[Idea] = []
    if lane:
        order = [row.pk for row in by_lane[lane]]
        index = _target_index(order, position=position, before=before, after=after)
        by_lane[lane].insert(index, current)
    current.lane = lane
    if not lane:
        current.lane_position = 0
        changed.append(current)
    for members in by_lane.values():
        for number, row in enumerate(members):
            if row is current or row.lane_position != number:
                row.lane_position = number
                changed.append(row)
    Idea.objects.bulk_update(changed, ["lane", "lane_position"])
    if lane and current.status in (Idea.Status.NEW, Idea.Status.UNDER_REVIEW):
        from .services import change_idea_status

        change_idea_status(
            idea=current,
            to_status=Idea.Status.PLANNED,
            by=by,
            note=f"Placed on the roadmap ({Idea.Lane(lane).label}).",
        )
        current.refresh_from_db()
    idea.lane, idea.lane_position, idea.status = current.lane, current.lane_position, current.status
    return current


@transaction.atomic
def ship_idea(*, idea: Idea, release_note: str, by, public: bool | None = None) -> Idea:
    """Mark an open idea shipped with its release note (what changed, for customers).

    The note is saved before the status changes, so the close-the-loop messages queued by
    the shipping (after the commit) carry it. ``public`` sets whether the idea shows on the
    public roadmap's changelog (unchanged when None). Raises ``ValidationError`` on a blank
    note or an idea that cannot ship.
    """
    note = (release_note or "").strip()
    if not note:
        raise ValidationError({"release_note": "Say what changed, for the customers who asked."})
    current = Idea.objects.select_for_update().get(pk=idea.pk)
    _require_open(current)
    current.release_note = note
    fields = ["release_note", "updated_at"]
    if public is not None:
        current.public = public
        fields.append("public")
    current.save(update_fields=fields)
    from .services import change_idea_status

    for status in _PATH_TO_SHIPPED[current.status]:
        current = change_idea_status(
            idea=current,
            to_status=status,
            by=by,
            note="Shipped from the roadmap." if status == Idea.Status.SHIPPED else "",
        )
    current.refresh_from_db()
    return current


def set_idea_public(*, idea: Idea, public: bool, by) -> Idea:
    """Show or hide a live idea on the public roadmap. Raises ``ValidationError`` for a
    merged idea."""
    if idea.merged_into_id:
        raise ValidationError("A merged idea is not shown anywhere.", code="merged")
    Idea.objects.filter(pk=idea.pk).update(public=public)
    idea.public = public
    return idea


def mark_neighbours(lanes: list[Lane]) -> list[Lane]:
    """Set ``above_id`` and ``below_id`` on each idea of the board: the visible ideas next to
    it in its lane (what the up/down buttons move it past)."""
    for lane in lanes:
        for index, idea in enumerate(lane.ideas):
            idea.above_id = lane.ideas[index - 1].pk if index > 0 else None
            idea.below_id = lane.ideas[index + 1].pk if index + 1 < len(lane.ideas) else None
    return lanes
