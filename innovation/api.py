"""The idea backlog over REST: ideas, their status, merges, evidence, find similar, votes.

Input serializer → service → output serializer. API keys need ``backlog:read`` to read and
``backlog:write`` to write; signed-in people need the same permissions as the pages.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import acting_person
from accounts.permissions import HasScopeOrPermission
from api.filters import FilterBackend
from api.serializers import InputSerializer
from feedback.models import Customer, Product
from insights.models import Theme

from . import selectors, services
from .filters import IdeaFilter
from .models import Idea, IdeaEvidence, IdeaVote

READ, WRITE = "backlog:read", "backlog:write"
VIEW, MANAGE = selectors.VIEW, selectors.MANAGE


def _choice_text(choices, **kwargs) -> serializers.CharField:
    """A choice documented in its description, not as a named enum (several models have a
    "status", and the schema's enum names are global)."""
    return serializers.CharField(
        help_text="One of: " + ", ".join(value for value, _ in choices), **kwargs
    )


# --- output ---------------------------------------------------------------------------------


class IdeaSerializer(serializers.ModelSerializer):
    status = _choice_text(Idea.Status.choices, read_only=True)
    origin = _choice_text(Idea.Origin.choices, read_only=True)
    lane = _choice_text(Idea.Lane.choices, read_only=True)
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    theme = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    merged_into = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    segment_counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = Idea
        fields = [
            "id",
            "title",
            "problem",
            "proposed_solution",
            "product",
            "theme",
            "owner",
            "origin",
            "status",
            "lane",
            "reach",
            "impact",
            "confidence",
            "effort",
            "value",
            "rice_score",
            "value_effort_score",
            "evidence_count",
            "customer_count",
            "internal_customer_count",
            "external_customer_count",
            "value_at_stake",
            "segment_counts",
            "vote_count",
            "evidence_refreshed_at",
            "shipped_at",
            "merged_into",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    source = _choice_text(IdeaEvidence.Source.choices, read_only=True)
    text = serializers.CharField(source="feedback.text", read_only=True)
    customer = serializers.IntegerField(
        source="feedback.customer_id", read_only=True, allow_null=True
    )
    customer_name = serializers.SerializerMethodField()

    class Meta:
        model = IdeaEvidence
        fields = [
            "id",
            "feedback",
            "text",
            "customer",
            "customer_name",
            "source",
            "similarity",
            "merged_from",
            "added_at",
        ]
        read_only_fields = fields

    def get_customer_name(self, obj: IdeaEvidence) -> str | None:
        return obj.feedback.customer.name if obj.feedback.customer_id else None


class SimilarSerializer(serializers.Serializer):
    feedback = serializers.IntegerField(source="feedback.pk")
    text = serializers.CharField(source="feedback.text")
    customer = serializers.IntegerField(source="feedback.customer_id", allow_null=True)
    received_at = serializers.DateTimeField(source="feedback.received_at")
    score = serializers.FloatField()


class VoteSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = IdeaVote
        fields = ["id", "customer", "customer_name", "merged_from", "created_at"]
        read_only_fields = fields


# --- input ----------------------------------------------------------------------------------


class IdeaCreateSerializer(InputSerializer):
    title = serializers.CharField(max_length=200)
    problem = serializers.CharField()
    proposed_solution = serializers.CharField(required=False, allow_blank=True, default="")
    product = serializers.SlugRelatedField(
        slug_field="slug", queryset=Product.objects.all(), required=False, allow_null=True
    )
    theme = serializers.PrimaryKeyRelatedField(
        queryset=Theme.objects.all(), required=False, allow_null=True
    )
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=Idea._meta.get_field("owner").related_model.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    feedback_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=1000
    )


class IdeaUpdateSerializer(IdeaCreateSerializer):
    """Description fields and the manager's scores; send only what changes."""

    impact = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=10)
    confidence = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    effort = serializers.FloatField(required=False, allow_null=True, min_value=services.EFFORT_MIN)
    value = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=services.VALUE_MAX
    )

    def get_fields(self):
        fields = super().get_fields()
        del fields["feedback_ids"]
        for field in fields.values():
            field.required = False
        fields["proposed_solution"].default = serializers.empty
        return fields


class StatusChangeSerializer(InputSerializer):
    to_status = _choice_text(Idea.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class MergeSerializer(InputSerializer):
    target = serializers.IntegerField(min_value=1, help_text="The idea to merge into")


class EvidenceAddSerializer(InputSerializer):
    feedback_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000
    )
    similarities = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=1),
        required=False,
        help_text="Find-similar score per feedback id; the links are then marked 'similar'.",
    )


class VoteAddSerializer(InputSerializer):
    customer = serializers.IntegerField(min_value=1)


# --- views ----------------------------------------------------------------------------------


class NullsLastOrderingFilter(filters.OrderingFilter):
    """``?ordering=-rice_score``: unscored ideas come last in either direction."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering or ordering == getattr(view, "ordering", None):
            return ordering
        expressions = []
        for field in ordering:
            name = field.lstrip("-")
            expression = (
                F(name).desc(nulls_last=True)
                if field.startswith("-")
                else F(name).asc(nulls_last=True)
            )
            expressions.append(expression)
        return [*expressions, "-id"]


class IdeaListCreateView(generics.ListAPIView):
    """List live ideas (filters, search ``q``, ``ordering`` by score) or create one."""

    serializer_class = IdeaSerializer
    filterset_class = IdeaFilter
    filter_backends = [
        FilterBackend,
        NullsLastOrderingFilter,
    ]
    ordering_fields = [
        "rice_score",
        "value_effort_score",
        "customer_count",
        "evidence_count",
        "vote_count",
        "value_at_stake",
        "created_at",
    ]
    ordering = ["-created_at", "-id"]
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "POST": WRITE}
    required_perms = {"GET": VIEW, "POST": "innovation.add_idea"}

    def get_queryset(self):
        return selectors.idea_list()

    @extend_schema(request=IdeaCreateSerializer, responses={201: IdeaSerializer})
    def post(self, request):
        data = IdeaCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        idea = services.create_idea(
            created_by=acting_person(request),
            origin=Idea.Origin.API,
            evidence_source=IdeaEvidence.Source.API,
            feedback_ids=values.pop("feedback_ids", []),
            **values,
        )
        return Response(
            IdeaSerializer(selectors.idea_list().get(pk=idea.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class IdeaDetailView(generics.RetrieveAPIView):
    """One idea (merged ones too: ``merged_into`` says where); PATCH edits it (managers)."""

    serializer_class = IdeaSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "PATCH": WRITE}
    required_perms = {"GET": VIEW, "PATCH": MANAGE}

    def get_queryset(self):
        return Idea.objects.select_related("product", "theme", "owner")

    @extend_schema(request=IdeaUpdateSerializer, responses={200: IdeaSerializer})
    def patch(self, request, pk: int):
        idea = self.get_object()
        data = IdeaUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        scores = {
            k: values.pop(k) for k in ("impact", "confidence", "effort", "value") if k in values
        }
        # All or nothing: scores refused after the text was saved would leave a 400 that
        # changed the idea.
        with transaction.atomic():
            if values:
                services.update_idea(idea=idea, by=acting_person(request), **values)
            if scores:
                current = {k: getattr(idea, k) for k in ("impact", "confidence", "effort", "value")}
                services.set_idea_scores(
                    idea=idea, by=acting_person(request), **{**current, **scores}
                )
        return Response(IdeaSerializer(self.get_queryset().get(pk=idea.pk)).data)


class _IdeaActionView(APIView):
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": WRITE}
    required_perms = {"POST": MANAGE}

    def idea(self, pk: int) -> Idea:
        return get_object_or_404(Idea, pk=pk)

    def answer(self, idea: Idea) -> Response:
        return Response(
            IdeaSerializer(
                Idea.objects.select_related("product", "theme", "owner").get(pk=idea.pk)
            ).data
        )


class IdeaStatusView(_IdeaActionView):
    """Move an idea to another status (allowed transitions only)."""

    @extend_schema(request=StatusChangeSerializer, responses={200: IdeaSerializer})
    def post(self, request, pk: int):
        data = StatusChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        idea = services.change_idea_status(
            idea=self.idea(pk), by=acting_person(request), **data.validated_data
        )
        return self.answer(idea)


class IdeaMergeView(_IdeaActionView):
    """Merge this idea into ``target``: its evidence and votes move there (undoable)."""

    @extend_schema(request=MergeSerializer, responses={200: IdeaSerializer})
    def post(self, request, pk: int):
        data = MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = self.idea(pk)
        # An unknown target is a bad field, not a missing idea: 404 would read as "no
        # idea {pk}".
        target = Idea.objects.filter(pk=data.validated_data["target"]).first()
        if target is None:
            raise serializers.ValidationError({"target": ["No such idea."]})
        return self.answer(
            services.merge_ideas(source=source, target=target, by=acting_person(request))
        )


class IdeaUnmergeView(_IdeaActionView):
    """Undo a merge: the idea gets back exactly its evidence and votes."""

    @extend_schema(request=None, responses={200: IdeaSerializer})
    def post(self, request, pk: int):
        return self.answer(services.unmerge_idea(idea=self.idea(pk), by=acting_person(request)))


class IdeaEvidenceView(generics.ListAPIView):
    """The idea's evidence (GET) or link more feedback to it (POST)."""

    serializer_class = EvidenceSerializer
    filter_backends: list = []
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "POST": WRITE}
    required_perms = {"GET": VIEW, "POST": "innovation.add_ideaevidence"}

    def get_queryset(self):
        idea = get_object_or_404(Idea, pk=self.kwargs["pk"])
        return IdeaEvidence.objects.filter(idea=idea).select_related("feedback__customer")

    @extend_schema(request=EvidenceAddSerializer, responses={201: EvidenceSerializer(many=True)})
    def post(self, request, pk: int):
        idea = get_object_or_404(Idea, pk=pk)
        data = EvidenceAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        raw_scores = data.validated_data.get("similarities") or {}
        try:
            scores = {int(k): v for k, v in raw_scores.items()}
        except ValueError:
            raise serializers.ValidationError(
                {"similarities": ["Keys are feedback ids."]}
            ) from None
        services.add_evidence(
            idea=idea,
            feedback_ids=data.validated_data["feedback_ids"],
            by=acting_person(request),
            source=IdeaEvidence.Source.SIMILAR if scores else IdeaEvidence.Source.API,
            similarities=scores,
        )
        links = self.get_queryset().filter(feedback_id__in=data.validated_data["feedback_ids"])
        return Response(EvidenceSerializer(links, many=True).data, status=status.HTTP_201_CREATED)


class IdeaEvidenceDetailView(APIView):
    """Unlink one feedback from the idea."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"DELETE": WRITE}
    required_perms = {"DELETE": "innovation.add_ideaevidence"}

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int, feedback_pk: int):
        idea = get_object_or_404(Idea, pk=pk)
        if not services.remove_evidence(
            idea=idea, feedback_id=feedback_pk, by=acting_person(request)
        ):
            raise NotFound("That feedback is not evidence for this idea.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdeaSimilarView(APIView):
    """Candidate feedback for the idea, ranked by similarity, not yet linked."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": VIEW}

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="At most 100; default 20")],
        responses={200: SimilarSerializer(many=True)},
    )
    def get(self, request, pk: int):
        idea = get_object_or_404(Idea.objects.live(), pk=pk)
        try:
            limit = min(max(int(request.query_params.get("limit", 20)), 1), 100)
        except ValueError:
            raise serializers.ValidationError({"limit": ["A whole number."]}) from None
        return Response(
            SimilarSerializer(selectors.similar_feedback(idea, limit=limit), many=True).data
        )


class IdeaVoteView(generics.ListAPIView):
    """The idea's votes (GET) or record a customer's vote (POST)."""

    serializer_class = VoteSerializer
    filter_backends: list = []
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "POST": WRITE}
    required_perms = {"GET": VIEW, "POST": "innovation.add_ideavote"}

    def get_queryset(self):
        idea = get_object_or_404(Idea, pk=self.kwargs["pk"])
        return selectors.idea_votes(idea)

    @extend_schema(request=VoteAddSerializer, responses={201: VoteSerializer, 200: VoteSerializer})
    def post(self, request, pk: int):
        idea = get_object_or_404(Idea, pk=pk)
        data = VoteAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = Customer.objects.filter(pk=data.validated_data["customer"]).first()
        if customer is None:
            raise serializers.ValidationError({"customer": ["No such customer."]})
        vote, created = services.record_vote(
            idea=idea, customer=customer, by=acting_person(request)
        )
        vote = IdeaVote.objects.select_related("customer").get(pk=vote.pk)
        return Response(
            VoteSerializer(vote).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class IdeaVoteDetailView(APIView):
    """Remove a customer's vote."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"DELETE": WRITE}
    required_perms = {"DELETE": "innovation.add_ideavote"}

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int, customer_pk: int):
        idea = get_object_or_404(Idea, pk=pk)
        if not services.remove_vote(idea=idea, customer_id=customer_pk, by=acting_person(request)):
            raise NotFound("That customer has not voted for this idea.")
        return Response(status=status.HTTP_204_NO_CONTENT)
