"""Idea backlog pages: list, create/edit, detail, evidence, votes, merge, segment weights."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors
from feedback.models import Feedback
from feedback.search import search_feedback
from feedback.selectors import feedback_list
from insights.models import Theme

from . import selectors, services
from .filters import IdeaFilter
from .forms import (
    EvidenceConfirmForm,
    EvidenceForm,
    EvidenceSearchForm,
    FeedbackToIdeaForm,
    IdeaEditForm,
    IdeaForm,
    MergeForm,
    ScoresForm,
    SegmentWeightsForm,
    StatusForm,
    VoteForm,
    whole_number,
)
from .loop import LOOP_MESSAGES_SHOWN, loop_messages_for
from .models import Idea, IdeaEvidence

VIEW = selectors.VIEW
MANAGE = selectors.MANAGE
ADD = "innovation.add_idea"
ADD_EVIDENCE = "innovation.add_ideaevidence"
ADD_VOTE = "innovation.add_ideavote"
PAGE_SIZE = 25
SEARCH_LIMIT = 30


def _flash_errors(request, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        messages.error(request, f"{label + ': ' if label else ''}{' '.join(errors)}")


@permission_required(VIEW)
def idea_list(request):
    idea_filter = IdeaFilter(request.GET, queryset=selectors.idea_list())
    if idea_filter.is_bound and not idea_filter.is_valid():
        return render(
            request,
            "innovation/idea_list.html",
            {"filter": idea_filter, "page": Paginator([], PAGE_SIZE).get_page(1)},
            status=400,
        )
    paginator = Paginator(idea_filter.qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "innovation/idea_list.html",
        {
            "filter": idea_filter,
            "page": page,
            "query": query.urlencode(),
            "sort": request.GET.get("sort") or "newest",
        },
    )


def _initial_from(request) -> dict:
    """A new idea prefilled from a feedback or a theme (the "new idea from …" links)."""
    initial: dict = {}
    feedback_id = whole_number(request.GET.get("feedback", ""))
    theme_id = whole_number(request.GET.get("theme", ""))
    if feedback_id is not None:
        feedback = Feedback.objects.filter(pk=feedback_id).select_related("product").first()
        if feedback is not None:
            initial.update(
                problem=feedback.text[:2000],
                product=feedback.product,
                feedback_ids=str(feedback.pk),
            )
    elif theme_id is not None:
        theme = Theme.objects.filter(pk=theme_id).first()
        if theme is not None:
            ids = selectors.top_feedback_ids_for_theme(theme)
            initial.update(
                title=theme.name,
                theme=theme,
                feedback_ids=", ".join(map(str, ids)),
            )
    return initial


@permission_required(ADD)
@require_http_methods(["GET", "POST"])
def idea_create(request):
    duplicates = []
    if request.method == "POST":
        form = IdeaForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if not data["confirmed"]:
                duplicates = selectors.possible_duplicates(
                    title=data["title"], problem=data["problem"]
                )
            if not duplicates:
                try:
                    idea = services.create_idea(
                        title=data["title"],
                        problem=data["problem"],
                        proposed_solution=data["proposed_solution"],
                        product=data["product"],
                        theme=data["theme"],
                        owner=data["owner"],
                        created_by=request.user,
                        feedback_ids=data["feedback_ids"],
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, "Idea created.")
                    return redirect("innovation:idea_detail", pk=idea.pk)
            else:
                # Shown once: saving again keeps the idea even though it looks alike.
                form.data = form.data.copy()
                form.data["confirmed"] = "on"
        status = 200 if duplicates else 400
        return render(
            request,
            "innovation/idea_form.html",
            {"form": form, "duplicates": duplicates, "creating": True},
            status=status,
        )
    form = IdeaForm(initial=_initial_from(request))
    return render(request, "innovation/idea_form.html", {"form": form, "creating": True})


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def idea_edit(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk, live_only=True)
    if request.method == "POST":
        form = IdeaEditForm(request.POST, idea=idea)
        if form.is_valid():
            try:
                services.update_idea(idea=idea, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Idea saved.")
                return redirect("innovation:idea_detail", pk=idea.pk)
        return render(
            request, "innovation/idea_form.html", {"form": form, "idea": idea}, status=400
        )
    form = IdeaEditForm(
        idea=idea,
        initial={
            "title": idea.title,
            "problem": idea.problem,
            "proposed_solution": idea.proposed_solution,
            "product": idea.product,
            "theme": idea.theme,
            "owner": idea.owner,
        },
    )
    return render(request, "innovation/idea_form.html", {"form": form, "idea": idea})


def _detail_context(request, idea: Idea, **forms) -> dict:
    return {
        "idea": idea,
        "formulas": selectors.idea_formulas(idea),
        "history": selectors.idea_history(idea),
        "evidence": selectors.idea_evidence(idea),
        "votes": selectors.idea_votes(idea),
        "merged_ideas": selectors.merged_ideas(idea),
        "loop_messages": loop_messages_for(idea=idea)[:LOOP_MESSAGES_SHOWN],
        "loop_messages_total": idea.loop_messages.count(),
        "can_manage": request.user.has_perm(MANAGE),
        "can_add_evidence": request.user.has_perm(ADD_EVIDENCE),
        "can_vote": request.user.has_perm(ADD_VOTE),
        "scores_form": forms.get("scores_form")
        or ScoresForm(
            initial={
                "impact": idea.impact,
                "confidence": idea.confidence,
                "effort": idea.effort,
                "value": idea.value,
            }
        ),
        "status_form": forms.get("status_form")
        or StatusForm(allowed=services.allowed_next_statuses(idea)),
        "evidence_form": forms.get("evidence_form") or EvidenceForm(),
        "vote_form": forms.get("vote_form") or VoteForm(),
        "merge_form": MergeForm(targets=selectors.merge_targets(idea)),
    }


@permission_required(VIEW)
def idea_detail(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)
    return render(request, "innovation/idea_detail.html", _detail_context(request, idea))


def _detail_with_errors(request, idea: Idea, **forms):
    return render(
        request, "innovation/idea_detail.html", _detail_context(request, idea, **forms), status=400
    )


def _idea_form_action(request, idea: Idea, form, form_name: str, action):
    """Validate ``form`` and run ``action(cleaned_data)``, a service call that returns the
    success message; its ValidationError becomes form errors on the idea page (400)."""
    if form.is_valid():
        try:
            message = action(form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message)
            return redirect("innovation:idea_detail", pk=idea.pk)
    return _detail_with_errors(request, idea, **{form_name: form})


@permission_required(MANAGE)
@require_POST
def idea_scores(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)

    def save(data) -> str:
        services.set_idea_scores(idea=idea, by=request.user, **data)
        return "Scores saved."

    return _idea_form_action(request, idea, ScoresForm(request.POST), "scores_form", save)


@permission_required(MANAGE)
@require_POST
def idea_status(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)

    def change(data) -> str:
        services.change_idea_status(
            idea=idea, to_status=data["to_status"], by=request.user, note=data["note"]
        )
        return "Status changed."

    return _idea_form_action(request, idea, StatusForm(request.POST), "status_form", change)


@permission_required(ADD_EVIDENCE)
@require_POST
def idea_evidence_add(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)

    def link(data) -> str:
        created = services.add_evidence(
            idea=idea, feedback_ids=data["feedback_ids"], by=request.user
        )
        return f"{created} feedback linked as evidence."

    return _idea_form_action(request, idea, EvidenceForm(request.POST), "evidence_form", link)


@permission_required(ADD_EVIDENCE)
@require_POST
def idea_evidence_remove(request, pk: int, feedback_pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)
    try:
        removed = services.remove_evidence(idea=idea, feedback_id=feedback_pk, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if removed:
            messages.success(request, f"Feedback #{feedback_pk} unlinked.")
    return redirect("innovation:idea_detail", pk=idea.pk)


@permission_required(ADD_EVIDENCE)
@require_http_methods(["GET", "POST"])
def idea_find_evidence(request, pk: int):
    """Find similar feedback (or search it), tick several, confirm them as evidence."""
    idea = selectors.get_idea_for_user(request.user, pk, live_only=True)
    if request.method == "POST":
        form = EvidenceConfirmForm(request.POST)
        if form.is_valid():
            similar = form.cleaned_data["mode"] == "similar"
            try:
                created = services.add_evidence(
                    idea=idea,
                    feedback_ids=form.cleaned_data["feedback"],
                    by=request.user,
                    source=IdeaEvidence.Source.SIMILAR if similar else IdeaEvidence.Source.MANUAL,
                    similarities=form.similarities() if similar else None,
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, f"{created} feedback linked as evidence.")
                return redirect("innovation:idea_detail", pk=idea.pk)
        else:
            _flash_errors(request, form)
        return redirect(request.get_full_path())
    search = EvidenceSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    if query:
        linked = IdeaEvidence.objects.filter(idea=idea).values("feedback_id")
        rows = search_feedback(feedback_list().exclude(pk__in=linked), query)[:SEARCH_LIMIT]
        results = [selectors.SimilarFeedback(feedback=row, score=None) for row in rows]
        mode = "search"
    else:
        results = selectors.similar_feedback(idea)
        mode = "similar"
    return render(
        request,
        "innovation/idea_find_evidence.html",
        {"idea": idea, "results": results, "mode": mode, "query": query, "search": search},
        status=200 if search.is_valid() else 400,
    )


@permission_required(ADD_VOTE)
@require_POST
def idea_vote_add(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)

    def vote(data) -> str:
        _, created = services.record_vote(idea=idea, customer=data["customer"], by=request.user)
        return "Vote recorded." if created else "That customer had already voted."

    return _idea_form_action(request, idea, VoteForm(request.POST), "vote_form", vote)


@permission_required(ADD_VOTE)
@require_POST
def idea_vote_remove(request, pk: int, customer_pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)
    try:
        services.remove_vote(idea=idea, customer_id=customer_pk, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("innovation:idea_detail", pk=idea.pk)


@permission_required(MANAGE)
@require_POST
def idea_merge(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)
    form = MergeForm(request.POST, targets=selectors.merge_targets(idea))
    if not form.is_valid():
        _flash_errors(request, form)
        return redirect("innovation:idea_detail", pk=idea.pk)
    try:
        target = services.merge_ideas(
            source=idea, target=form.cleaned_data["target"], by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("innovation:idea_detail", pk=idea.pk)
    messages.success(request, f"“{idea.title}” merged into this idea.")
    return redirect("innovation:idea_detail", pk=target.pk)


@permission_required(MANAGE)
@require_POST
def idea_unmerge(request, pk: int):
    idea = selectors.get_idea_for_user(request.user, pk)
    try:
        services.unmerge_idea(idea=idea, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Idea unmerged: its evidence and votes are back.")
    return redirect("innovation:idea_detail", pk=idea.pk)


@permission_required(ADD_EVIDENCE)
@require_POST
def feedback_add_to_idea(request, feedback_pk: int):
    """From the feedback page: link this feedback to an open idea."""
    feedback = get_object_or_404(Feedback, pk=feedback_pk)
    form = FeedbackToIdeaForm(request.POST)
    if form.is_valid():
        idea = form.cleaned_data["idea"]
        try:
            services.add_evidence(idea=idea, feedback_ids=[feedback.pk], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Linked as evidence for “{idea.title}”.")
    else:
        _flash_errors(request, form)
    return redirect("feedback:detail", pk=feedback.pk)


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def segment_weights(request):
    rows = selectors.segment_weights()
    form = SegmentWeightsForm(request.POST or None, segments=rows)
    if request.method == "POST":
        if form.is_valid():
            try:
                changed = services.set_segment_weights(weights=form.weights(), by=request.user)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"{changed} weight(s) changed; scores are being recomputed."
                )
                return redirect("innovation:segment_weights")
        return render(request, "innovation/segment_weights.html", {"form": form}, status=400)
    return render(request, "innovation/segment_weights.html", {"form": form})
