"""Roadmap, changelog, idea suggestions and the public roadmap (HTML).

Staff see the roadmap and the changelog; managers move ideas, ship them and decide on
suggestions. The move buttons are plain forms; ``static/js/roadmap.js`` sends the same
forms with fetch (asking for JSON) and swaps in the board the server renders, and adds
drag and drop on top.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import permission_required
from feedback.models import Product

from . import roadmap, suggestions
from .loop import LOOP_MESSAGES_SHOWN, loop_messages_for
from .models import Idea, IdeaSuggestion
from .roadmap_forms import (
    AcceptSuggestionForm,
    MoveIdeaForm,
    ProductFilterForm,
    PublicForm,
    ShipIdeaForm,
    SuggestionFilterForm,
)

VIEW = "innovation.view_idea"
MANAGE = "innovation.manage_ideas"
SUGGESTIONS_PAGE_SIZE = 25


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _product_filter(request) -> tuple[ProductFilterForm, Product | None, int]:
    """The ``?product=`` filter: (form, product or None, HTTP status: 400 on a bad value)."""
    form = ProductFilterForm(request.GET or None)
    if not request.GET:
        return form, None, 200
    if not form.is_valid():
        return form, None, 400
    return form, form.cleaned_data["product"], 200


def _board_context(product: Product | None) -> dict:
    return {
        "lanes": roadmap.mark_neighbours(roadmap.roadmap_lanes(product=product)),
        "unplaced": roadmap.unplaced_ideas(product=product),
        "product": product,
    }


@permission_required(VIEW)
@require_GET
def roadmap_page(request):
    form, product, status = _product_filter(request)
    context = {"filter_form": form, **_board_context(product)}
    return render(request, "innovation/roadmap.html", context, status=status)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _roadmap_url(product_slug: str = "") -> str:
    url = reverse("innovation:roadmap")
    return f"{url}?product={product_slug}" if product_slug else url


@permission_required(MANAGE)
@require_POST
def roadmap_move(request, pk: int):
    idea = get_object_or_404(Idea, pk=pk)
    form = MoveIdeaForm(request.POST)
    errors: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        try:
            roadmap.move_idea(
                idea=idea,
                lane=data["lane"],
                by=request.user,
                position=data["position"],
                before=data["before"],
                after=data["after"],
            )
        except ValidationError as exc:
            errors = _error_dict(exc)
    else:
        errors = form.errors.get_json_data()
        errors = {name: [e["message"] for e in items] for name, items in errors.items()}
    slug = form.cleaned_data.get("product", "") if form.is_valid() else ""
    where = Idea.Lane(idea.lane).label if idea.lane else "off the roadmap"
    message = f"“{idea.title}” is now in {where}" + (
        f", position {idea.lane_position + 1}." if idea.lane else "."
    )
    if _wants_json(request):
        if errors:
            return JsonResponse({"errors": errors}, status=400)
        product = Product.objects.filter(slug=slug).first() if slug else None
        board = render_to_string(
            "innovation/_roadmap_board.html", _board_context(product), request=request
        )
        return JsonResponse({"message": message, "board": board, "idea": idea.pk})
    if errors:
        messages.error(request, " ".join(m for items in errors.values() for m in items))
    else:
        messages.success(request, message)
    return redirect(_roadmap_url(slug) + f"#idea-{idea.pk}")


def _item_page(request, idea: Idea, ship_form: ShipIdeaForm, *, status: int = 200):
    context = {
        "idea": idea,
        "ship_form": ship_form,
        "can_ship": idea.status not in roadmap.CLOSED and not idea.merged_into_id,
        "loop_messages": loop_messages_for(idea=idea)[:LOOP_MESSAGES_SHOWN],
        "loop_messages_total": idea.told,
        "impact": idea.impact_details or {},
    }
    return render(request, "innovation/roadmap_item.html", context, status=status)


def _get_item(pk: int) -> Idea:
    try:
        return roadmap.roadmap_item(pk)
    except Idea.DoesNotExist as exc:
        raise Http404("No such idea.") from exc


@permission_required(VIEW)
@require_GET
def roadmap_item(request, pk: int):
    idea = _get_item(pk)
    return _item_page(request, idea, ShipIdeaForm(initial={"public": idea.public}))


@permission_required(MANAGE)
@require_POST
def roadmap_ship(request, pk: int):
    idea = _get_item(pk)
    form = ShipIdeaForm(request.POST)
    if form.is_valid():
        try:
            roadmap.ship_idea(
                idea=idea,
                release_note=form.cleaned_data["release_note"],
                public=form.cleaned_data["public"],
                by=request.user,
            )
        except ValidationError as exc:
            for name, errors in _error_dict(exc).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                f"“{idea.title}” is shipped. The customers who asked for it are being told.",
            )
            return redirect("innovation:roadmap_item", pk=idea.pk)
    return _item_page(request, idea, form, status=400)


@permission_required(MANAGE)
@require_POST
def roadmap_public(request, pk: int):
    idea = get_object_or_404(Idea, pk=pk)
    form = PublicForm(request.POST)
    form.is_valid()  # an unchecked box is simply absent: False
    try:
        roadmap.set_idea_public(idea=idea, public=form.cleaned_data["public"], by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        shown = "shown on" if idea.public else "hidden from"
        messages.success(request, f"“{idea.title}” is {shown} the public roadmap.")
    return redirect("innovation:roadmap_item", pk=idea.pk)


@permission_required(VIEW)
@require_GET
def changelog(request):
    form, product, status = _product_filter(request)
    page = Paginator(roadmap.changelog(product=product), roadmap.CHANGELOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "filter_form": form,
        "page": page,
        "months": roadmap.by_month(page.object_list),
        "query": f"product={product.slug}" if product else "",
    }
    return render(request, "innovation/changelog.html", context, status=status)


# --- Suggestions ---------------------------------------------------------------------------


@permission_required(MANAGE)
@require_GET
def suggestion_list(request):
    form = SuggestionFilterForm(request.GET or None)
    status = IdeaSuggestion.Status.PENDING
    http_status = 200
    if request.GET:
        if form.is_valid():
            status = form.cleaned_data["status"] or status
        else:
            http_status = 400
    page = Paginator(suggestions.suggestions_for_page(status=status), SUGGESTIONS_PAGE_SIZE)
    page = page.get_page(request.GET.get("page"))
    evidence = suggestions.evidence_previews(page.object_list)
    product_choices = list(AcceptSuggestionForm().fields["product"].choices)
    for suggestion in page.object_list:
        suggestion.quotes = [evidence[pk] for pk in suggestion.evidence_ids or [] if pk in evidence]
        suggestion.accept_form = AcceptSuggestionForm(
            prefix=f"s{suggestion.pk}",
            product_choices=product_choices,
            initial={"title": suggestion.title, "problem": suggestions.default_problem(suggestion)},
        )
    context = {"filter_form": form, "page": page, "status": status, "query": f"status={status}"}
    return render(request, "innovation/suggestion_list.html", context, status=http_status)


@permission_required(MANAGE)
@require_POST
def suggestion_accept(request, pk: int):
    suggestion = get_object_or_404(IdeaSuggestion.objects.select_related("theme"), pk=pk)
    form = AcceptSuggestionForm(request.POST, prefix=f"s{suggestion.pk}")
    if not form.is_valid():
        messages.error(request, "Check the title (at most 200 characters) and the product.")
        return redirect("innovation:suggestions")
    try:
        idea = suggestions.accept_suggestion(
            suggestion=suggestion,
            by=request.user,
            title=form.cleaned_data["title"],
            problem=form.cleaned_data["problem"],
            product=form.cleaned_data["product"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in _error_dict(exc).values() for m in ms))
        return redirect("innovation:suggestions")
    messages.success(
        request,
        f"Idea “{idea.title}” created with {idea.evidence_count} pieces of evidence; "
        "place it on the roadmap.",
    )
    return redirect(reverse("innovation:roadmap") + f"#idea-{idea.pk}")


@permission_required(MANAGE)
@require_POST
def suggestion_dismiss(request, pk: int):
    suggestion = get_object_or_404(IdeaSuggestion, pk=pk)
    try:
        suggestions.dismiss_suggestion(suggestion=suggestion, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Dismissed “{suggestion.title}”. It comes back only if the theme grows "
            f"{settings.IDEA_SUGGESTION_REGROWTH:g}× and significantly.",
        )
    return redirect("innovation:suggestions")


# --- Public --------------------------------------------------------------------------------


@require_GET
def public_roadmap(request):
    """Anyone, no login: public ideas only (titles, lanes, release notes), when enabled."""
    if not settings.PUBLIC_ROADMAP_ENABLED:
        raise Http404("The public roadmap is not enabled.")
    context = {"lanes": roadmap.public_lanes(), "shipped": roadmap.public_changelog()}
    return render(request, "innovation/public_roadmap.html", context)
