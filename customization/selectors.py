"""Reads for the customization pages and API: segments, profiles, the request backlog."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, FloatField, Q, QuerySet
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404

from feedback.models import Customer, Feedback
from insights.models import FeedbackTheme

from .analysis.similarity import RequestText, similar_groups
from .models import (
    CustomerPreference,
    CustomizationEvidence,
    CustomizationRequest,
    CustomizationStatusChange,
    Segment,
)


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied


# --- segments -------------------------------------------------------------------------------


def segment_list(*, status: str | None = None) -> QuerySet[Segment]:
    segments = Segment.objects.select_related("created_by").annotate(
        request_count=Count("customization_requests", distinct=True)
    )
    if status:
        segments = segments.filter(status=status)
    return segments.order_by("name")


def get_segment_for_user(user, pk: int, perm: str = "customization.view_segment") -> Segment:
    """The segment ``pk`` if ``user`` holds ``perm`` (403 otherwise, 404 if absent)."""
    _require(user, perm)
    return get_object_or_404(segment_list(), pk=pk)


def segment_members(segment: Segment) -> QuerySet[Customer]:
    return segment.customers.annotate(feedback_count=Count("feedback", distinct=True)).order_by(
        "name", "id"
    )


def live_segments() -> QuerySet[Segment]:
    return Segment.objects.live().order_by("name")


def decided_suggestion_members() -> list[set[int]]:
    """The customers of each suggestion a manager accepted or discarded (one query)."""
    members: dict[int, set[int]] = {}
    rows = Segment.customers.through.objects.filter(
        segment__kind=Segment.Kind.SUGGESTED,
        segment__status__in=[Segment.Status.ACTIVE, Segment.Status.DISCARDED],
    ).values_list("segment_id", "customer_id")
    for segment_id, customer_id in rows:
        members.setdefault(segment_id, set()).add(customer_id)
    return list(members.values())


CLUSTERING_COLUMNS = [
    "id",
    "kind",
    "tier",
    "annual_value",
    "feedback_count",
    "avg_sentiment",
    "avg_rating",
    "negative_count",
]


def clustering_input() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per customer: kind, tier, value, feedback volume, sentiment, rating, negative share;
    and per customer and theme: how many of their feedback carry it. Two queries."""
    rows = list(
        Customer.objects.annotate(
            feedback_count=Count("feedback", distinct=True),
            avg_sentiment=Avg("feedback__sentiment_score"),
            avg_rating=Avg("feedback__rating_normalised"),
            negative_count=Count(
                "feedback", filter=Q(feedback__sentiment_label="negative"), distinct=True
            ),
        ).values(*CLUSTERING_COLUMNS)
    )
    customers = pd.DataFrame(rows, columns=CLUSTERING_COLUMNS)
    if not customers.empty:
        volume = customers["feedback_count"].astype(float)
        customers["negative_share"] = (
            customers["negative_count"].astype(float) / volume.where(volume > 0)
        ).fillna(0.0)
    else:
        customers["negative_share"] = []
    themes = pd.DataFrame(
        list(
            FeedbackTheme.objects.filter(feedback__customer__isnull=False)
            .exclude(theme__status="merged")
            .values("feedback__customer_id", "theme_id", "theme__name")
            .annotate(count=Count("feedback_id", distinct=True))
        ),
        columns=["feedback__customer_id", "theme_id", "theme__name", "count"],
    ).rename(columns={"feedback__customer_id": "customer_id", "theme__name": "theme"})
    return customers, themes


# --- customer profile ------------------------------------------------------------------------


def customer_preferences(customer: Customer) -> QuerySet[CustomerPreference]:
    return customer.preferences.select_related("recorded_by").order_by("key")


INFERRED_THEMES = 8


def inferred_themes(customer: Customer) -> list[dict]:
    """The themes the customer raises most: count, negative count and average sentiment."""
    return list(
        FeedbackTheme.objects.filter(feedback__customer=customer)
        .exclude(theme__status="merged")
        .values("theme_id", "theme__name")
        .annotate(
            count=Count("feedback_id", distinct=True),
            negative=Count(
                "feedback_id", filter=Q(feedback__sentiment_label="negative"), distinct=True
            ),
            sentiment=Avg(Cast("feedback__sentiment_score", FloatField())),
        )
        .order_by("-count", "theme__name")[:INFERRED_THEMES]
    )


def customer_products(customer: Customer) -> list[dict]:
    return list(
        Feedback.objects.filter(customer=customer, product__isnull=False)
        .values("product_id", "product__name")
        .annotate(count=Count("id"), sentiment=Avg("sentiment_score"))
        .order_by("-count", "product__name")[:8]
    )


def customer_segments(customer: Customer) -> QuerySet[Segment]:
    return customer.segments.filter(status=Segment.Status.ACTIVE).order_by("name")


def customer_requests(customer: Customer) -> QuerySet[CustomizationRequest]:
    """Requests for the customer, or for a live segment they belong to."""
    return (
        request_list()
        .filter(
            Q(customer=customer)
            | Q(segment__in=customer.segments.filter(status=Segment.Status.ACTIVE))
        )
        .order_by("-created_at")
    )


# --- the request backlog -----------------------------------------------------------------------


def request_list() -> QuerySet[CustomizationRequest]:
    return CustomizationRequest.objects.select_related(
        "customer", "segment", "product", "owner", "theme", "promoted_to"
    ).annotate(evidence_count=Count("evidence_links", distinct=True))


def get_request_for_user(
    user, pk: int, perm: str = "customization.view_customizationrequest"
) -> CustomizationRequest:
    _require(user, perm)
    return get_object_or_404(request_list(), pk=pk)


def request_history(request: CustomizationRequest) -> QuerySet[CustomizationStatusChange]:
    return request.history.select_related("changed_by").order_by("changed_at", "id")


def request_evidence(request: CustomizationRequest) -> QuerySet[CustomizationEvidence]:
    return request.evidence_links.select_related(
        "feedback", "feedback__customer", "feedback__product", "added_by"
    ).order_by("-added_at", "-id")


def requests_for_feedback(feedback: Feedback) -> QuerySet[CustomizationRequest]:
    return request_list().filter(evidence_links__feedback=feedback).order_by("-created_at")


def requests_for_theme(theme) -> QuerySet[CustomizationRequest]:
    return request_list().filter(theme=theme).order_by("-created_at")


# --- promotion proposals -------------------------------------------------------------------


@dataclass
class PromotionProposal:
    requests: list[CustomizationRequest]
    parties: int

    @property
    def ids(self) -> list[int]:
        return [r.pk for r in self.requests]

    @property
    def value_at_stake(self):
        return sum((r.value_at_stake for r in self.requests), start=0)


def promotable_requests() -> QuerySet[CustomizationRequest]:
    """Open requests not promoted yet: the candidates for an innovation idea."""
    return (
        request_list()
        .filter(promoted_to__isnull=True)
        .exclude(status=CustomizationRequest.Status.DECLINED)
        .order_by("id")
    )


def party_of(request: CustomizationRequest) -> str:
    return (
        f"customer:{request.customer_id}"
        if request.customer_id
        else f"segment:{request.segment_id}"
    )


def promotion_proposals(
    requests: list[CustomizationRequest] | None = None, *, threshold: int | None = None
) -> list[PromotionProposal]:
    """Groups of similar requests asked for by at least the promotion threshold of
    distinct customers and segments (see ``analysis.similarity``)."""
    if threshold is None:
        threshold = settings.CUSTOMIZATION_PROMOTION_THRESHOLD
    if requests is None:
        requests = list(promotable_requests())
    by_id = {r.pk: r for r in requests}
    groups = similar_groups(
        [
            RequestText(
                id=r.pk,
                text=f"{r.title}\n{r.description}",
                theme_id=r.theme_id,
                party=party_of(r),
            )
            for r in requests
        ],
        min_parties=threshold,
    )
    return [
        PromotionProposal(
            requests=[by_id[pk] for pk in ids], parties=len({party_of(by_id[pk]) for pk in ids})
        )
        for ids in groups
    ]
