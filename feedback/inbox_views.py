"""The inbox: every channel in one list, search, saved views, bulk triage, notes."""

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors

from . import inbox as inbox_services
from . import services
from .channel_forms import BulkTriageForm, NoteForm, SavedViewEditForm, SavedViewForm
from .filters import FeedbackFilter
from .forms import TriageForm
from .models import Feedback, FeedbackNote
from .selectors import (
    feedback_list,
    feedback_notes,
    get_feedback_for_user,
    saved_views_of,
    views_owned_by,
)

INBOX_PAGE_SIZE = 25
TRIAGE = "feedback.triage_feedback"
NOT_YOUR_VIEW = "That view does not exist or is not yours to change."
NOT_YOUR_NOTE = "That note is not yours to change."
# The inbox list last looked at (its query string), where the feedback page leads back.
INBOX_LIST_SESSION_KEY = "inbox_list_query"


@permission_required(TRIAGE)
def inbox(request):
    query = request.GET.urlencode()
    if request.session.get(INBOX_LIST_SESSION_KEY, "") != query:
        request.session[INBOX_LIST_SESSION_KEY] = query
    return _render_inbox(request)


def _inbox_list_url(request) -> str:
    """The inbox with the filters and page last used in it."""
    query = request.session.get(INBOX_LIST_SESSION_KEY, "")
    return f"{reverse('feedback:inbox')}?{query}" if query else reverse("feedback:inbox")


def _view_query(query: str) -> str:
    """The filters as a saved view keeps them (the filter form also sends its empty
    fields), to tell which saved view the inbox shows."""
    try:
        return inbox_services.clean_view_query(query)
    except ValidationError:
        return query


def _render_inbox(request, *, params=None, edited_view_form=None, status=200):
    """The inbox for ``params`` (the GET query); ``edited_view_form`` is a saved view's
    edit form that failed, shown open with its errors."""
    params = request.GET if params is None else params
    feedback_filter = FeedbackFilter(params, queryset=feedback_list())
    paginator = Paginator(feedback_filter.qs, INBOX_PAGE_SIZE)
    page = paginator.get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    saved_views = list(saved_views_of(request.user))
    for view in saved_views:
        if not view.is_own:
            continue
        if edited_view_form is not None and edited_view_form.view_id == view.pk:
            view.edit_form = edited_view_form
        else:
            view.edit_form = SavedViewEditForm(
                view_id=view.pk, initial={"name": view.name, "shared": view.shared}
            )
    return render(
        request,
        "feedback/inbox.html",
        {
            "filter": feedback_filter,
            "page": page,
            "query": query.urlencode(),
            "view_query": _view_query(query.urlencode()),
            "saved_views": saved_views,
            "view_form": SavedViewForm(initial={"query": query.urlencode()}),
            "bulk_form": BulkTriageForm(),
        },
        status=status,
    )


def _back_to_inbox(request, next_url: str):
    if (
        next_url
        and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and next_url.startswith(reverse("feedback:inbox"))
    ):
        return redirect(next_url)
    return redirect("feedback:inbox")


@permission_required(TRIAGE)
@require_POST
def inbox_bulk(request):
    form = BulkTriageForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label + ': ' if label else ''}{' '.join(errors)}")
        return _back_to_inbox(request, request.POST.get("next", ""))
    data = form.cleaned_data
    try:
        count = inbox_services.bulk_update_triage(
            user=request.user,
            feedback_ids=data["ids"],
            status=data["status"] or None,
            assignee=data["assignee"],
            add_tags=[data["add_tag"]] if data["add_tag"].strip() else [],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{count} feedback updated.")
    return _back_to_inbox(request, data["next"])


@permission_required(TRIAGE)
@require_POST
def saved_view_create(request):
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = inbox_services.save_view(
                owner=request.user,
                name=form.cleaned_data["name"],
                query=form.cleaned_data["query"],
                shared=form.cleaned_data["shared"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"View “{view.name}” saved.")
            return redirect(
                f"{reverse('feedback:inbox')}?{view.query}" if view.query else "feedback:inbox"
            )
    else:
        messages.error(request, "Give the view a name (at most 80 characters).")
    query = form.data.get("query", "")
    return redirect(f"{reverse('feedback:inbox')}?{query}" if query else "feedback:inbox")


@permission_required(TRIAGE)
@require_POST
def saved_view_edit(request, pk: int):
    """Rename one's own view, share it or stop sharing it. A view that is not the user's
    (a colleague's shared view) is refused with a message, as ``saved_view_delete`` does."""
    if not views_owned_by(request.user).filter(pk=pk).exists():
        messages.error(request, NOT_YOUR_VIEW)
        return redirect("feedback:inbox")
    form = SavedViewEditForm(request.POST, view_id=pk)
    if form.is_valid():
        try:
            view = inbox_services.update_view(
                owner=request.user,
                view_id=pk,
                name=form.cleaned_data["name"],
                shared=form.cleaned_data["shared"],
            )
        except PermissionDenied:  # deleted meanwhile
            messages.error(request, NOT_YOUR_VIEW)
            return redirect("feedback:inbox")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            state = "shared with the team" if view.shared else "only yours"
            messages.success(request, f"View “{view.name}” saved, {state}.")
            return redirect("feedback:inbox")
    return _render_inbox(request, params=QueryDict(), edited_view_form=form, status=400)


@permission_required(TRIAGE)
@require_POST
def saved_view_delete(request, pk: int):
    if inbox_services.delete_view(owner=request.user, view_id=pk):
        messages.success(request, "View deleted.")
    else:
        messages.error(request, NOT_YOUR_VIEW)
    return redirect("feedback:inbox")


@permission_required(TRIAGE)
@require_http_methods(["GET", "POST"])
def feedback_detail(request, pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    initial = {
        "status": feedback.status,
        "assignee": feedback.assignee,
        "tags": ", ".join(t.name for t in feedback.tags.all()),
    }
    status = 200
    if request.method == "POST":
        form = TriageForm(request.POST, initial=initial)
        if form.is_valid():
            try:
                services.update_feedback_triage(
                    feedback=feedback,
                    status=form.cleaned_data["status"],
                    assignee=form.cleaned_data["assignee"],
                    tags=form.cleaned_data["tags"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Feedback updated.")
                return redirect("feedback:detail", pk=feedback.pk)
    else:
        form = TriageForm(initial=initial)
    return _render_detail(request, feedback, form=form, note_form=NoteForm(), status=status)


def _render_detail(request, feedback, *, form, note_form, edited_note_form=None, status=200):
    """The feedback page; ``edited_note_form`` is a note's edit form that failed, shown
    open with its errors."""
    notes = list(feedback_notes(feedback))
    for note in notes:
        note.can_edit = note.may_be_edited_by(request.user)
        note.can_delete = note.may_be_deleted_by(request.user)
        if not note.can_edit:
            continue
        if edited_note_form is not None and edited_note_form.note_id == note.pk:
            note.edit_form = edited_note_form
        else:
            note.edit_form = NoteForm(auto_id=f"note-{note.pk}-%s", initial={"text": note.text})
    return render(
        request,
        "feedback/detail.html",
        {
            "feedback": feedback,
            "inbox_url": _inbox_list_url(request),
            "form": form,
            "note_form": note_form,
            "notes": notes,
            "origin": _origin(feedback),
            "sentiment_choices": Feedback.Sentiment.choices,
        },
        status=status,
    )


def _origin(feedback: Feedback):
    """The focus group or interview this feedback was noted in, as (label, url)."""
    try:
        if feedback.channel == Feedback.Channel.FOCUS_GROUP:
            entry = feedback.focus_group_entry
            url = reverse("feedback:focus_group_detail", args=[entry.focus_group_id])
            return (f"Focus group: {entry.focus_group}", url)
        if feedback.channel == Feedback.Channel.INTERVIEW:
            highlight = feedback.interview_highlight
            url = reverse("feedback:interview_detail", args=[highlight.interview_id])
            return (str(highlight.interview), url)
    except ObjectDoesNotExist:  # stored through the API or an import, not in a session
        pass
    return None


@permission_required(TRIAGE)
@require_POST
def feedback_note_add(request, pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    note_form = NoteForm(request.POST)
    if note_form.is_valid():
        try:
            inbox_services.add_note(
                feedback=feedback, author=request.user, text=note_form.cleaned_data["text"]
            )
        except ValidationError as exc:
            note_form.add_error("text", exc.messages)
        else:
            messages.success(request, "Note added.")
            return redirect(f"{reverse('feedback:detail', args=[feedback.pk])}#notes")
    return _render_detail(
        request, feedback, form=_triage_form(feedback), note_form=_focused(note_form), status=400
    )


def _focused(note_form: NoteForm) -> NoteForm:
    """A refused note's form, its text box focused: the notes are at the foot of the
    page, and the browser scrolls to the focused box and its message."""
    note_form.fields["text"].widget.attrs["autofocus"] = True
    return note_form


def _triage_form(feedback: Feedback) -> TriageForm:
    return TriageForm(
        initial={
            "status": feedback.status,
            "assignee": feedback.assignee,
            "tags": ", ".join(t.name for t in feedback.tags.all()),
        }
    )


@permission_required(TRIAGE)
@require_POST
def feedback_note_edit(request, pk: int, note_pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    note = get_object_or_404(
        FeedbackNote.objects.select_related("author"), pk=note_pk, feedback=feedback
    )
    notes_url = f"{reverse('feedback:detail', args=[feedback.pk])}#note-{note.pk}"
    if not note.may_be_edited_by(request.user):
        messages.error(request, NOT_YOUR_NOTE)
        return redirect(notes_url)
    edit_form = NoteForm(request.POST, auto_id=f"note-{note.pk}-%s")
    edit_form.note_id = note.pk
    if edit_form.is_valid():
        try:
            inbox_services.edit_note(
                note=note, user=request.user, text=edit_form.cleaned_data["text"]
            )
        except ValidationError as exc:
            edit_form.add_error("text", exc.messages)
        else:
            messages.success(request, "Note saved.")
            return redirect(notes_url)
    return _render_detail(
        request,
        feedback,
        form=_triage_form(feedback),
        note_form=NoteForm(),
        edited_note_form=_focused(edit_form),
        status=400,
    )


@permission_required(TRIAGE)
@require_POST
def feedback_note_delete(request, pk: int, note_pk: int):
    feedback = get_feedback_for_user(request.user, pk)
    note = get_object_or_404(FeedbackNote, pk=note_pk, feedback=feedback)
    try:
        inbox_services.delete_note(note=note, user=request.user)
    except PermissionDenied:
        messages.error(request, NOT_YOUR_NOTE)
    else:
        messages.success(request, "Note deleted.")
    return redirect(f"{reverse('feedback:detail', args=[feedback.pk])}#notes")
