"""Focus group sessions and the findings and quotes noted during them."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Customer, Feedback, FocusGroup, FocusGroupEntry
from .research import follow_session, said_at
from .services import record_feedback

SESSION_FIELDS = ("topic", "scheduled_at", "product", "moderator", "agenda", "notes", "status")
# What the feedback of a session's entries takes from it (the customer is each entry's own
# participant).
FOLLOWED_FIELDS = ("scheduled_at", "product")


def _check_moderator(moderator) -> None:
    if moderator is not None and not moderator.has_perm("feedback.change_focusgroup"):
        raise ValidationError({"moderator": ["This user cannot run focus groups."]})


def save_focus_group(
    *,
    focus_group: FocusGroup | None = None,
    participants: Iterable[Customer] | None = None,
    **values,
) -> FocusGroup:
    """Create a session (``focus_group=None``) or change the given fields of one.

    ``values`` holds any of ``SESSION_FIELDS``; ``participants`` replaces the list when
    given. The feedback of the entries follows a changed product or date in the same
    transaction. Raises ``ValidationError`` with field messages; nothing is saved then.
    """
    unknown = set(values) - set(SESSION_FIELDS)
    if unknown:
        raise TypeError(f"unknown focus group fields: {sorted(unknown)}")
    if "moderator" in values:
        _check_moderator(values["moderator"])
    focus_group = focus_group or FocusGroup()
    for name, value in values.items():
        setattr(focus_group, name, value)
    if not (focus_group.topic or "").strip():
        raise ValidationError({"topic": ["This field may not be blank."]})
    focus_group.topic = focus_group.topic.strip()
    if focus_group.scheduled_at is None:
        raise ValidationError({"scheduled_at": ["Give the date and time of the session."]})
    focus_group.full_clean(exclude=["participants", "moderator"])
    with transaction.atomic():
        is_new = focus_group.pk is None
        focus_group.save()
        if not is_new and set(FOLLOWED_FIELDS) & set(values):
            follow_session(
                Feedback.objects.filter(focus_group_entry__focus_group=focus_group),
                session_time=focus_group.scheduled_at,
                product=focus_group.product,
            )
        if participants is not None:
            focus_group.participants.set(participants)
    return focus_group


def add_focus_group_entry(
    *,
    focus_group: FocusGroup,
    text: str,
    author: AbstractBaseUser | None,
    kind: str = FocusGroupEntry.Kind.FINDING,
    participant: Customer | None = None,
    tags: Iterable[str] = (),
) -> FocusGroupEntry:
    """Store a finding or quote as feedback (channel focus_group) linked to the session.

    The feedback carries the participant as its customer when one is given, and the
    session's product. A planned session becomes held with its first entry. Raises
    ``ValidationError`` (bad text, unknown kind, a participant not in the session);
    nothing is stored then.
    """
    if kind not in FocusGroupEntry.Kind.values:
        raise ValidationError({"kind": [f'"{kind}" is not a valid kind.']})
    if participant is not None and not focus_group.participants.filter(pk=participant.pk).exists():
        raise ValidationError(
            {"participant": ["This customer is not a participant of the session."]}
        )
    with transaction.atomic():
        feedback = record_feedback(
            channel=Feedback.Channel.FOCUS_GROUP,
            source=focus_group.feedback_source,
            text=text,
            received_at=said_at(focus_group.scheduled_at),
            customer=participant,
            product=focus_group.product,
            tags=tags,
        )
        entry = FocusGroupEntry.objects.create(
            focus_group=focus_group,
            feedback=feedback,
            kind=kind,
            participant=participant,
            author=author,
        )
        if focus_group.status == FocusGroup.Status.PLANNED:
            FocusGroup.objects.filter(pk=focus_group.pk).update(status=FocusGroup.Status.HELD)
            focus_group.status = FocusGroup.Status.HELD
    return entry


def delete_focus_group_entry(*, entry: FocusGroupEntry) -> None:
    """Remove an entry and the feedback it created (entered by mistake)."""
    with transaction.atomic():
        Feedback.objects.filter(pk=entry.feedback_id).delete()  # cascades to the entry


def delete_focus_group(*, focus_group: FocusGroup) -> None:
    """Delete a session with the feedback its entries created."""
    with transaction.atomic():
        Feedback.objects.filter(focus_group_entry__focus_group=focus_group).delete()
        focus_group.delete()
