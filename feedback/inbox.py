"""Writes of the inbox beyond one feedback's triage: bulk changes, saved views, notes."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Feedback, FeedbackNote, SavedView
from .selectors import views_owned_by
from .services import clean_tag_names, update_feedback_triage

TRIAGE_PERMISSION = "feedback.triage_feedback"
BULK_MAX_ROWS = 500
# A saved view's name, as long as the model keeps it.
VIEW_NAME_MAX_LENGTH = SavedView._meta.get_field("name").max_length
# Parameters of the inbox URL that describe the list, not the page being looked at.
NOT_SAVED_PARAMS = {"page", "csrfmiddlewaretoken"}


def bulk_update_triage(
    *,
    user: AbstractBaseUser,
    feedback_ids: Iterable[int],
    status: str | None = None,
    assignee: AbstractBaseUser | None | type(...) = ...,
    add_tags: Iterable[str] = (),
) -> int:
    """Apply one triage change to many feedback, all or nothing; returns how many changed.

    Each row goes through ``update_feedback_triage`` (same validation as one at a time);
    tags are added to the ones each row already has. Raises ``PermissionDenied`` when
    ``user`` may not triage, ``ValidationError`` for no rows, too many rows, unknown ids,
    nothing to change, or what ``update_feedback_triage`` refuses (then nothing changed).
    """
    if not user.has_perm(TRIAGE_PERMISSION):
        raise PermissionDenied
    ids = sorted({int(i) for i in feedback_ids})
    if not ids:
        raise ValidationError({"ids": ["Select at least one feedback."]})
    if len(ids) > BULK_MAX_ROWS:
        raise ValidationError({"ids": [f"Select at most {BULK_MAX_ROWS} feedback at once."]})
    new_tags = clean_tag_names(add_tags)
    if status is None and assignee is ... and not new_tags:
        raise ValidationError({"action": ["Choose a status, an assignee or a tag to add."]})
    with transaction.atomic():
        rows = list(
            Feedback.objects.filter(pk__in=ids)
            .select_for_update()
            .prefetch_related("tags")
            .order_by("pk")
        )
        if len(rows) != len(ids):
            raise ValidationError({"ids": ["Some of the selected feedback no longer exist."]})
        for feedback in rows:
            tags = None
            if new_tags:
                tags = sorted({t.name for t in feedback.tags.all()} | set(new_tags))
            update_feedback_triage(feedback=feedback, status=status, assignee=assignee, tags=tags)
    return len(rows)


def clean_view_query(query: str) -> str:
    """The inbox query string without the page number, at most 2000 characters."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=False)
        if key not in NOT_SAVED_PARAMS
    ]
    cleaned = urlencode(pairs)
    if len(cleaned) > 2000:
        raise ValidationError({"query": ["These filters are too long to save."]})
    return cleaned


def _clean_view_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the view a name."]})
    limit = VIEW_NAME_MAX_LENGTH
    if len(name) > limit:
        raise ValidationError({"name": [f"Ensure this field has no more than {limit} characters."]})
    return name


def save_view(*, owner: AbstractBaseUser, name: str, query: str, shared: bool = False) -> SavedView:
    """Save the inbox filters under a name; the same name again replaces its filters and
    whether it is shared with the team."""
    name = _clean_view_name(name)
    cleaned = clean_view_query(query)
    try:
        with transaction.atomic():
            view, _ = SavedView.objects.update_or_create(
                owner=owner, name=name, defaults={"query": cleaned, "shared": shared}
            )
    except IntegrityError:  # a concurrent save of the same name won
        view = SavedView.objects.get(owner=owner, name=name)
    return view


def update_view(*, owner: AbstractBaseUser, view_id: int, name: str, shared: bool) -> SavedView:
    """Rename one of ``owner``'s views and share it with the team or stop sharing it.

    Raises ``PermissionDenied`` when the view is not ``owner``'s (shared views of others
    included) or does not exist, ``ValidationError`` for an empty or too long name or one
    ``owner`` already uses for another view.
    """
    name = _clean_view_name(name)
    try:
        with transaction.atomic():
            view = views_owned_by(owner).select_for_update().filter(pk=view_id).first()
            if view is None:
                raise PermissionDenied
            view.name = name
            view.shared = shared
            view.save(update_fields=["name", "shared"])
    except IntegrityError:  # the owner's unique name, checked by the database
        raise ValidationError(
            {"name": [f"You already have a view named “{name}”."]}, code="duplicate"
        ) from None
    return view


def delete_view(*, owner: AbstractBaseUser, view_id: int) -> bool:
    """Delete one of ``owner``'s views; False when it is not theirs or does not exist."""
    deleted, _ = views_owned_by(owner).filter(pk=view_id).delete()
    return bool(deleted)


def _clean_note_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": ["Write the note first."]})
    limit = settings.FEEDBACK_NOTE_MAX_LENGTH
    if len(text) > limit:
        raise ValidationError({"text": [f"Ensure this field has no more than {limit} characters."]})
    if "\x00" in text:
        raise ValidationError({"text": ["Text may not contain NUL characters."]})
    return text


def add_note(*, feedback: Feedback, author: AbstractBaseUser, text: str) -> FeedbackNote:
    """An internal note on a feedback. Raises ``PermissionDenied`` unless the author may
    triage, ``ValidationError`` for an empty or too long text."""
    if not author.has_perm(TRIAGE_PERMISSION):
        raise PermissionDenied
    text = _clean_note_text(text)
    return FeedbackNote.objects.create(feedback=feedback, author=author, text=text)


def edit_note(*, note: FeedbackNote, user: AbstractBaseUser, text: str) -> FeedbackNote:
    """Replace a note's text and record when and by whom. Raises ``PermissionDenied`` unless ``user``
    wrote it or may change any note (admins), ``ValidationError`` as ``add_note``; an
    unchanged text changes nothing (no edit time)."""
    if not note.may_be_edited_by(user):
        raise PermissionDenied
    text = _clean_note_text(text)
    if text != note.text:
        note.text = text
        note.edited_at = timezone.now()
        note.edited_by = user
        note.save(update_fields=["text", "edited_at", "edited_by"])
    return note


def delete_note(*, note: FeedbackNote, user: AbstractBaseUser) -> None:
    """Delete a note. Raises ``PermissionDenied`` unless ``user`` wrote it or may delete
    any note (admins)."""
    if not note.may_be_deleted_by(user):
        raise PermissionDenied
    note.delete()
