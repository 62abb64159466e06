"""Roadmap, changelog and idea suggestions over REST: input serializer → the same services as
the pages (``innovation.roadmap``, ``innovation.suggestions``) → output serializer.

Scopes: ``backlog:read`` to read, ``backlog:write`` to move ideas and decide suggestions.
People need ``innovation.view_idea`` to read the roadmap and changelog and
``innovation.manage_ideas`` for the suggestions and every write.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import acting_person
from accounts.permissions import HasScopeOrPermission
from api.serializers import InputSerializer
from feedback.models import Product

from . import roadmap, suggestions
from .models import Idea, IdeaSuggestion

READ, WRITE = "backlog:read", "backlog:write"
VIEW, MANAGE = "innovation.view_idea", "innovation.manage_ideas"

PRODUCT_PARAMETER = OpenApiParameter(
    "product", OpenApiTypes.STR, description="Only ideas of the product with this slug."
)


@extend_schema_field(OpenApiTypes.STR)
class _ProductField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Product.objects.all(), **kwargs)


@extend_schema_field(
    {"type": "string", "enum": ["", *Idea.Lane.values], "description": "now, next, later or "
     "empty (off the roadmap)"}
)  # fmt: skip
class _LaneField(serializers.ChoiceField):
    """Inline enum: the backlog's idea schema may name its own lane enum."""


class RoadmapProductFilterSerializer(InputSerializer):
    product = _ProductField(required=False, allow_null=True)


def _product(request):
    data = RoadmapProductFilterSerializer(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data.get("product")


# --- Output --------------------------------------------------------------------------------


class RoadmapIdeaSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="the idea's backlog status")
    lane = serializers.CharField(read_only=True, help_text="now, next, later or empty")
    position = serializers.IntegerField(source="lane_position", read_only=True)
    product = serializers.CharField(source="product.slug", read_only=True, allow_null=True)
    theme = serializers.CharField(source="theme.name", read_only=True, allow_null=True)
    public = serializers.BooleanField(read_only=True)
    rice_score = serializers.FloatField(read_only=True, allow_null=True)
    customer_count = serializers.IntegerField(read_only=True)


class RoadmapLaneSerializer(serializers.Serializer):
    lane = serializers.CharField(source="value", read_only=True)
    label = serializers.CharField(read_only=True)
    ideas = RoadmapIdeaSerializer(many=True, read_only=True)


class RoadmapSerializer(serializers.Serializer):
    lanes = RoadmapLaneSerializer(many=True, read_only=True)


class ChangelogIdeaSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    product = serializers.CharField(source="product.slug", read_only=True, allow_null=True)
    theme = serializers.CharField(source="theme.name", read_only=True, allow_null=True)
    shipped_at = serializers.DateTimeField(read_only=True)
    release_note = serializers.CharField(read_only=True)
    public = serializers.BooleanField(read_only=True)
    customers_told = serializers.IntegerField(source="told", read_only=True)
    impact_check_due = serializers.DateField(read_only=True, allow_null=True)
    impact_result = serializers.CharField(
        read_only=True, help_text="improved, no_change, worse, not_enough_data or empty"
    )
    impact_details = serializers.JSONField(read_only=True)


class IdeaSuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    theme = serializers.IntegerField(source="theme_id", read_only=True)
    theme_name = serializers.CharField(source="theme.name", read_only=True)
    kind = serializers.CharField(read_only=True, help_text="emerging or pain_point")
    status = serializers.CharField(read_only=True, help_text="pending, accepted or dismissed")
    title = serializers.CharField(read_only=True)
    numbers = serializers.JSONField(read_only=True)
    evidence_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    dismissed_volume = serializers.IntegerField(read_only=True, allow_null=True)
    decided_by = serializers.CharField(
        source="decided_by.username", read_only=True, allow_null=True
    )
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    idea = serializers.IntegerField(source="idea_id", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)


# --- Input ---------------------------------------------------------------------------------


class RoadmapMoveSerializer(InputSerializer):
    lane = _LaneField(choices=["", *Idea.Lane.values], allow_blank=True)
    position = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    before = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="id of the idea to go before"
    )
    after = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="id of the idea to go after"
    )


class IdeaSuggestionAcceptSerializer(InputSerializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    problem = serializers.CharField(required=False, allow_blank=True, default="")
    product = _ProductField(required=False, allow_null=True, default=None)


@extend_schema_field(
    {"type": "string", "enum": IdeaSuggestion.Status.values, "description": "default pending"}
)
class _SuggestionStatusField(serializers.ChoiceField):
    """Inline enum: "status" names another model's enum in the schema."""


class IdeaSuggestionFilterSerializer(InputSerializer):
    status = _SuggestionStatusField(
        choices=IdeaSuggestion.Status.values, required=False, default="pending"
    )


# --- Views ---------------------------------------------------------------------------------


class RoadmapView(APIView):
    """The roadmap: now, next and later, each with its ideas in order."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": VIEW}

    @extend_schema(parameters=[PRODUCT_PARAMETER], responses={200: RoadmapSerializer})
    def get(self, request):
        lanes = roadmap.roadmap_lanes(product=_product(request))
        return Response(RoadmapSerializer({"lanes": lanes}).data)


class RoadmapMoveView(APIView):
    """Move an idea to a lane and place: ``position`` (0 = top), or ``before``/``after``
    another idea of the lane, or the end when none is given; ``lane: ""`` takes it off the
    roadmap. A new or under-review idea placed in a lane becomes planned."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": WRITE}
    required_perms = {"POST": MANAGE}

    @extend_schema(request=RoadmapMoveSerializer, responses={200: RoadmapIdeaSerializer})
    def post(self, request, pk: int):
        idea = get_object_or_404(Idea, pk=pk)
        data = RoadmapMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        roadmap.move_idea(
            idea=idea,
            lane=values["lane"],
            by=acting_person(request),
            position=values.get("position"),
            before=values.get("before"),
            after=values.get("after"),
        )
        moved = Idea.objects.select_related("product", "theme").get(pk=pk)
        return Response(RoadmapIdeaSerializer(moved).data)


class ChangelogView(generics.ListAPIView):
    """Shipped ideas, newest first, with release notes, customers told and impact."""

    serializer_class = ChangelogIdeaSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": VIEW}
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Idea.objects.none()
        return roadmap.changelog(product=_product(self.request))

    @extend_schema(parameters=[PRODUCT_PARAMETER])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SuggestionListView(generics.ListAPIView):
    """Weekly idea suggestions (pending by default), newest first."""

    serializer_class = IdeaSuggestionSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": MANAGE}
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IdeaSuggestion.objects.none()
        data = IdeaSuggestionFilterSerializer(data=self.request.query_params)
        data.is_valid(raise_exception=True)
        return suggestions.suggestions_for_page(status=data.validated_data["status"])

    @extend_schema(parameters=[IdeaSuggestionFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _SuggestionDecisionView(APIView):
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": WRITE}
    required_perms = {"POST": MANAGE}

    def _suggestion(self, pk: int) -> IdeaSuggestion:
        return get_object_or_404(IdeaSuggestion.objects.select_related("theme"), pk=pk)

    def _answer(self, pk: int, *, code: int = status.HTTP_200_OK) -> Response:
        row = suggestions.suggestions_for_page(status="").get(pk=pk)
        return Response(IdeaSuggestionSerializer(row).data, status=code)


class SuggestionAcceptView(_SuggestionDecisionView):
    """Accept a pending suggestion: creates the idea (origin "suggested") with the
    suggestion's feedback as evidence; 400 when it was already decided."""

    @extend_schema(
        request=IdeaSuggestionAcceptSerializer, responses={201: IdeaSuggestionSerializer}
    )
    def post(self, request, pk: int):
        suggestion = self._suggestion(pk)
        data = IdeaSuggestionAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestions.accept_suggestion(
            suggestion=suggestion, by=acting_person(request), **data.validated_data
        )
        return self._answer(pk, code=status.HTTP_201_CREATED)


class SuggestionDismissView(_SuggestionDecisionView):
    """Dismiss a pending suggestion; its theme comes back only after significant growth."""

    @extend_schema(request=None, responses={200: IdeaSuggestionSerializer})
    def post(self, request, pk: int):
        suggestions.dismiss_suggestion(suggestion=self._suggestion(pk), by=acting_person(request))
        return self._answer(pk)
