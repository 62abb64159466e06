"""Feedback over REST: input serializer → service → output serializer."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import HasScopeOrPermission
from api.pagination import CursorPagination
from api.serializers import InputSerializer

from . import services
from .filters import FeedbackFilter
from .models import MAX_ID, Customer, Feedback, Product
from .selectors import feedback_list

_DECIMAL = serializers.DecimalField(max_digits=6, decimal_places=2)
_DATETIME = serializers.DateTimeField()


def _decimal(value):
    return None if value is None else _DECIMAL.to_representation(value)


def _datetime(value):
    """DRF's ISO 8601 output, in the current time zone, "Z" for UTC; an aware value (all
    of them, with USE_TZ) without the field's generic checks."""
    if value is None:
        return None
    if timezone.is_aware(value):
        text = value.astimezone(timezone.get_current_timezone()).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _DATETIME.to_representation(value)


class TagNameField(serializers.CharField):
    """A tag name as given; stored as its slug, so a name without a letter or digit of
    a-z and 0-9 (``"!!!"``, ``"日本語"``) is refused rather than dropped unseen."""

    def __init__(self, **kwargs):
        super().__init__(max_length=60, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not services.is_tag_name(value):
            raise serializers.ValidationError(
                "A tag name needs at least one letter or digit (a-z, 0-9)."
            )
        return value


class FeedbackSerializer(serializers.Serializer):
    """One feedback: what was said, where, its triage state and its analysis.

    The declared fields document the output (OpenAPI); ``to_representation`` builds the
    same dict directly (a test holds the two equal): DRF deep-copies every declared field
    for each serializer instance, which cost more than the rest of a create call's answer.
    """

    id = serializers.IntegerField(read_only=True)
    channel = serializers.ChoiceField(choices=Feedback.Channel.choices, read_only=True)
    source = serializers.CharField(read_only=True)
    external_id = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)
    rating = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, allow_null=True
    )
    rating_min = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, allow_null=True
    )
    rating_max = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, allow_null=True
    )
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
    themes = serializers.SerializerMethodField()

    def to_representation(self, obj: Feedback) -> dict:
        return {
            "id": obj.pk,
            "channel": obj.channel,
            "source": obj.source,
            "external_id": obj.external_id,
            "text": obj.text,
            "rating": _decimal(obj.rating),
            "rating_min": _decimal(obj.rating_min),
            "rating_max": _decimal(obj.rating_max),
            "rating_normalised": obj.rating_normalised,
            "received_at": _datetime(obj.received_at),
            "created_at": _datetime(obj.created_at),
            "customer": obj.customer_id,
            "customer_kind": self.get_customer_kind(obj),
            "product": obj.product.slug if obj.product_id else None,
            "status": obj.status,
            "assignee": obj.assignee.username if obj.assignee_id else None,
            "tags": self.get_tags(obj),
            "sentiment": self.get_sentiment(obj),
            "themes": self.get_themes(obj),
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj: Feedback) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @extend_schema_field(
        inline_serializer(
            "FeedbackThemeLink",
            fields={
                "id": serializers.IntegerField(help_text="The theme's id."),
                "name": serializers.CharField(),
                "score": serializers.FloatField(
                    help_text="How closely the feedback matches the theme, 0–1 (1 for a "
                    "keyword rule or a theme added by hand)."
                ),
                "source": serializers.ChoiceField(
                    choices=[("model", "Model"), ("rule", "Keyword rule"), ("manual", "Manual")],
                    help_text="Who gave the theme: the theme model, a keyword rule, a person.",
                ),
            },
            many=True,
        )
    )
    def get_themes(self, obj: Feedback) -> list[dict]:
        """The active and proposed themes the feedback carries, strongest first. A feedback
        just recorded has none yet (its analysis runs after it is stored)."""
        from insights.theme_selectors import feedback_theme_links

        prefetched = "themes" in getattr(obj, "_prefetched_objects_cache", {})
        if not prefetched and obj.analysed_at is None:
            return []
        links = feedback_theme_links(obj)
        return [
            {
                "id": link.theme_id,
                "name": link.theme.name,
                "score": round(link.score, 4),
                "source": link.source,
            }
            for link in links
        ]

    def get_customer_kind(self, obj: Feedback) -> str:
        return obj.customer.kind if obj.customer_id else Customer.Kind.EXTERNAL

    def get_sentiment(self, obj: Feedback) -> dict | None:
        if obj.analysed_at is None:
            return None
        return {
            "score": obj.sentiment_score,
            "label": obj.sentiment_label,
            "model": obj.sentiment_model,
            "analysed_at": _datetime(obj.analysed_at),
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


class FeedbackCreateSerializer(InputSerializer):
    text = serializers.CharField(max_length=100_000, trim_whitespace=True)
    channel = serializers.ChoiceField(choices=Feedback.Channel.choices, default="api")
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    rating = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )
    rating_min = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )
    rating_max = serializers.DecimalField(
        max_digits=6, decimal_places=2, required=False, allow_null=True
    )
    received_at = serializers.DateTimeField(required=False)
    customer = _CustomerField(required=False, allow_null=True)
    product = _ProductField(slug_field="slug", required=False, allow_null=True)
    tags = serializers.ListField(child=TagNameField(), required=False, max_length=20, default=list)


BULK_MAX_ITEMS = 1000


class FeedbackBulkItemSerializer(FeedbackCreateSerializer):
    """One item of a bulk request: customer by id and product by slug, resolved in bulk."""

    customer = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID
    )
    product = serializers.SlugField(required=False, allow_null=True)


class FeedbackBulkSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=BULK_MAX_ITEMS
    )


class FeedbackBulkResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 stored, 400 invalid, 409 duplicate")
    id = serializers.IntegerField(required=False, help_text="The stored feedback (201)")
    existing_id = serializers.IntegerField(
        required=False, help_text="The feedback stored earlier with that external id (409)"
    )
    errors = serializers.DictField(required=False)


class FeedbackBulkResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = FeedbackBulkResultSerializer(many=True)


class FeedbackTriageSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Feedback.Status.choices, required=False)
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    tags = serializers.ListField(child=TagNameField(), required=False, max_length=20)


class FeedbackListCreateView(generics.ListAPIView):
    """List feedback (filters, search, ordering, cursor pages) or record a new one."""

    serializer_class = FeedbackSerializer
    filterset_class = FeedbackFilter
    ordering_fields = ["received_at", "created_at", "sentiment_score", "id"]
    ordering = ["-received_at", "-id"]
    pagination_class = CursorPagination
    cursor_fields = ("received_at", "created_at", "id")
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


class FeedbackBulkCreateView(APIView):
    """Record up to 1,000 feedback items in one request, with a result per item.

    Valid items are stored, invalid ones reported with their field messages (400) and
    repeated external ids with the row stored earlier (409); the answer is 200 either way.
    """

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": "feedback:write"}
    required_perms = {"POST": "feedback.triage_feedback"}

    @extend_schema(request=FeedbackBulkSerializer, responses={200: FeedbackBulkResponseSerializer})
    def post(self, request):
        envelope = FeedbackBulkSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)

        # Per item: its validated fields, or the errors that keep it out.
        checked: list[tuple[dict | None, dict | None]] = []
        for raw in envelope.validated_data["items"]:
            if not isinstance(raw, dict):
                checked.append((None, {"non_field_errors": ["Each item must be an object."]}))
                continue
            item = FeedbackBulkItemSerializer(data=raw)
            if item.is_valid():
                checked.append((dict(item.validated_data), None))
            else:
                checked.append((None, item.errors))
        checked = _resolve_relations(checked)

        outcomes = iter(services.record_feedback_batch([d for d, e in checked if e is None]))
        results, created = [], 0
        for index, (_, errors) in enumerate(checked):
            if errors is not None:
                results.append({"index": index, "status": 400, "errors": errors})
                continue
            outcome = next(outcomes)
            if isinstance(outcome, services.DuplicateFeedback):
                results.append(
                    {
                        "index": index,
                        "status": 409,
                        "existing_id": outcome.existing.pk,
                        "errors": outcome.message_dict,
                    }
                )
            elif isinstance(outcome, ValidationError):
                results.append({"index": index, "status": 400, "errors": outcome.message_dict})
            else:
                created += 1
                results.append({"index": index, "status": 201, "id": outcome.pk})
        return Response({"created": created, "failed": len(results) - created, "results": results})


def _resolve_relations(checked):
    """Swap customer ids and product slugs for rows: two queries for the whole batch."""
    valid = [data for data, errors in checked if errors is None]
    customer_ids = {d["customer"] for d in valid if d.get("customer")}
    slugs = {d["product"] for d in valid if d.get("product")}
    customers = Customer.objects.in_bulk(customer_ids) if customer_ids else {}
    products = {p.slug: p for p in Product.objects.filter(slug__in=slugs)} if slugs else {}
    resolved = []
    for data, errors in checked:
        if errors is None:
            errors = {}
            if data.get("customer"):
                if data["customer"] in customers:
                    data["customer"] = customers[data["customer"]]
                else:
                    errors["customer"] = [
                        f'Invalid pk "{data["customer"]}" - object does not exist.'
                    ]
            if data.get("product"):
                if data["product"] in products:
                    data["product"] = products[data["product"]]
                else:
                    errors["product"] = [f"Object with slug={data['product']} does not exist."]
            errors = errors or None
        resolved.append((data, errors))
    return resolved


class CustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "email",
            "kind",
            "department",
            "account",
            "tier",
            "annual_value",
            "attributes",
            "created_at",
        ]


class CustomerListView(generics.ListAPIView):
    """Customers (internal and external), by id; cursor pages."""

    serializer_class = CustomerSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read"}
    required_perms = {"GET": "feedback.view_customer"}
    pagination_class = CursorPagination
    filterset_fields = ["kind", "tier", "email"]
    search_fields = ["name", "account"]
    ordering_fields = ["id"]
    ordering = ["-id"]

    def get_queryset(self):
        return Customer.objects.all()


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "name", "slug", "description", "active"]


class ProductListView(generics.ListAPIView):
    """Products feedback can be about (a short list: numbered pages)."""

    serializer_class = ProductSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read"}
    required_perms = {"GET": "feedback.view_product"}
    filterset_fields = ["active"]
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        return Product.objects.order_by("name", "id")
