"""Feedback over REST: input serializer → service → output serializer."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.permissions import HasScopeOrPermission

from . import services
from .filters import FeedbackFilter
from .models import Customer, Feedback, Product
from .selectors import feedback_list


# Declared field by field rather than as a ModelSerializer, which rebuilds its fields from
# the model for every instance: that was the largest cost of a create call.
class FeedbackSerializer(serializers.Serializer):
    """One feedback: what was said, where, its triage state and its analysis."""

    id = serializers.IntegerField(read_only=True)
    channel = serializers.ChoiceField(choices=Feedback.Channel.choices, read_only=True)
    source = serializers.CharField(read_only=True)
    external_id = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    rating = serializers.DecimalField(max_digits=6, decimal_places=2, read_only=True, allow_null=True)
    rating_min = serializers.DecimalField(max_digits=6, decimal_places=2, read_only=True, allow_null=True)
    rating_max = serializers.DecimalField(max_digits=6, decimal_places=2, read_only=True, allow_null=True)
    rating_normalised = serializers.FloatField(read_only=True, allow_null=True)
    received_at = serializers.DateTimeField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True, allow_null=True)
    customer_kind = serializers.SerializerMethodField()
    product = serializers.CharField(source="product.slug", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=Feedback.Status.choices, read_only=True)
    assignee = serializers.CharField(source="assignee.username", read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    sentiment = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj: Feedback) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    def get_customer_kind(self, obj: Feedback) -> str:
        return obj.customer.kind if obj.customer_id else Customer.Kind.EXTERNAL

    def get_sentiment(self, obj: Feedback) -> dict | None:
        if obj.analysed_at is None:
            return None
        return {
            "score": obj.sentiment_score,
            "label": obj.sentiment_label,
            "model": obj.sentiment_model,
            "analysed_at": serializers.DateTimeField().to_representation(obj.analysed_at),
            "strongest_positive": (
                {"text": obj.positive_excerpt, "score": obj.positive_excerpt_score}
                if obj.positive_excerpt
                else None
            ),
            "strongest_negative": (
                {"text": obj.negative_excerpt, "score": obj.negative_excerpt_score}
                if obj.negative_excerpt
                else None
            ),
        }


@extend_schema_field(OpenApiTypes.INT)
class _CustomerField(serializers.PrimaryKeyRelatedField):
    # get_queryset() instead of queryset=: DRF deep-copies field arguments for every
    # serializer instance, and deep-copying a QuerySet is not cheap.
    def get_queryset(self):
        return Customer.objects.all()


@extend_schema_field(OpenApiTypes.STR)
class _ProductField(serializers.SlugRelatedField):
    def get_queryset(self):
        return Product.objects.all()


class FeedbackCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=100_000, trim_whitespace=True)
    channel = serializers.ChoiceField(choices=Feedback.Channel.choices, default="api")
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    rating = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True)
    rating_min = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True)
    rating_max = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True)
    received_at = serializers.DateTimeField(required=False)
    customer = _CustomerField(required=False, allow_null=True)
    product = _ProductField(slug_field="slug", required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20, default=list)


class FeedbackTriageSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Feedback.Status.choices, required=False)
    assignee = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True),
        required=False, allow_null=True,
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)


class FeedbackListCreateView(generics.ListAPIView):
    """List feedback (filters, search, ordering, pages) or record a new one."""

    serializer_class = FeedbackSerializer
    filterset_class = FeedbackFilter
    ordering_fields = ["received_at", "created_at", "sentiment_score", "id"]
    ordering = ["-received_at", "-id"]
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read", "POST": "feedback:write"}
    required_perms = {"GET": "feedback.triage_feedback", "POST": "feedback.triage_feedback"}

    def get_queryset(self):
        return feedback_list()

    @extend_schema(request=FeedbackCreateSerializer, responses={201: FeedbackSerializer})
    def post(self, request):
        data = FeedbackCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        feedback = services.record_feedback(**data.validated_data)
        return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)


class FeedbackDetailView(generics.RetrieveAPIView):
    """Read one feedback, or change its status, assignee or tags."""

    serializer_class = FeedbackSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read", "PATCH": "feedback:write"}
    required_perms = {"GET": "feedback.triage_feedback", "PATCH": "feedback.triage_feedback"}

    def get_queryset(self):
        return feedback_list()

    @extend_schema(request=FeedbackTriageSerializer, responses={200: FeedbackSerializer})
    def patch(self, request, pk: int):
        feedback = self.get_object()
        data = FeedbackTriageSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.update_feedback_triage(
            feedback=feedback,
            status=values.get("status"),
            assignee=values["assignee"] if "assignee" in values else ...,
            tags=values.get("tags"),
        )
        return Response(FeedbackSerializer(self.get_queryset().get(pk=feedback.pk)).data)
