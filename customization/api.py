"""Segments, customization requests and customer preferences over REST.

Input serializer → service → output serializer. API keys need ``backlog:read`` to read
and ``backlog:write`` to write; signed-in people need the same permissions as the pages.
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyUser
from accounts.permissions import HasScopeOrPermission
from api.filters import BooleanFilter, FilterSet
from api.serializers import InputSerializer
from feedback.models import Customer, Product
from insights.models import Theme

from . import segment_services, selectors, services
from .models import CustomerPreference, CustomizationRequest, Segment

READ, WRITE = "backlog:read", "backlog:write"


def _actor(request):
    """The person acting, or None for an API key (keys are not users)."""
    return None if isinstance(request.user, ApiKeyUser) else request.user


def _status_field(choices, **kwargs) -> serializers.CharField:
    """A status documented by its values in the description, not as a named enum: several
    models have a "status", and the schema's enum names are global."""
    values = [value for value, _ in choices]
    return serializers.CharField(help_text="One of: " + ", ".join(values), **kwargs)


# --- output ---------------------------------------------------------------------------------


class RuleSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="kind, tier, annual_value, product, department, account or attributes.<key>"
    )
    op = serializers.ChoiceField(choices=["eq", "in", "contains", "gte", "lte"])
    value = serializers.JSONField()


class SegmentSerializer(serializers.ModelSerializer):
    status = _status_field(Segment.Status.choices, read_only=True)
    rules = RuleSerializer(many=True, read_only=True)
    traits = serializers.ListField(child=serializers.CharField(), read_only=True)
    top_themes = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "status",
            "rules",
            "member_count",
            "membership_refreshed_at",
            "traits",
            "top_themes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "kind", "tier", "account", "department", "annual_value"]
        read_only_fields = fields


class RequestSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    evidence_count = serializers.IntegerField(read_only=True)
    status = _status_field(CustomizationRequest.Status.choices, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = CustomizationRequest
        fields = [
            "id",
            "title",
            "description",
            "customer",
            "segment",
            "product",
            "theme",
            "owner",
            "requested_by",
            "status",
            "allowed_transitions",
            "due_date",
            "value_at_stake",
            "delivery_note",
            "delivered_at",
            "promoted_to",
            "evidence_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_transitions(self, obj) -> list[str]:
        return list(services.allowed_transitions(obj))


class StatusChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    changed_by = serializers.CharField(source="changed_by.username", allow_null=True, default=None)
    changed_at = serializers.DateTimeField()
    note = serializers.CharField()


class RequestDetailSerializer(RequestSerializer):
    history = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "history", "evidence"]
        read_only_fields = fields

    @extend_schema_field(StatusChangeSerializer(many=True))
    def get_history(self, obj):
        return StatusChangeSerializer(selectors.request_history(obj), many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_evidence(self, obj) -> list[int]:
        return [link.feedback_id for link in selectors.request_evidence(obj)]


class PreferenceSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = CustomerPreference
        fields = [
            "id",
            "customer",
            "key",
            "value",
            "source",
            "stated_on",
            "recorded_by",
            "updated_at",
        ]
        read_only_fields = fields


# --- input ----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class _Related(serializers.PrimaryKeyRelatedField):
    model = None

    def get_queryset(self):
        return self.model.objects.all()


class _CustomerField(_Related):
    model = Customer


class _ThemeField(_Related):
    model = Theme


class _LiveSegmentField(_Related):
    def get_queryset(self):
        return Segment.objects.live()


@extend_schema_field(OpenApiTypes.STR)
class _ProductField(serializers.SlugRelatedField):
    def get_queryset(self):
        return Product.objects.all()


@extend_schema_field(OpenApiTypes.STR)
class _UserField(serializers.SlugRelatedField):
    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


class SegmentInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    rules = serializers.ListField(child=serializers.JSONField(), max_length=50)


class SegmentUpdateSerializer(InputSerializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rules = serializers.ListField(child=serializers.JSONField(), max_length=50, required=False)


class AcceptSerializer(InputSerializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)


class RequestInputSerializer(InputSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    customer = _CustomerField(required=False, allow_null=True, default=None)
    segment = _LiveSegmentField(required=False, allow_null=True, default=None)
    product = _ProductField(slug_field="slug", required=False, allow_null=True, default=None)
    theme = _ThemeField(required=False, allow_null=True, default=None)
    owner = _UserField(slug_field="username", required=False, allow_null=True, default=None)
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    feedback_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=500, default=list
    )


class RequestUpdateSerializer(InputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    customer = _CustomerField(required=False, allow_null=True)
    segment = _LiveSegmentField(required=False, allow_null=True)
    product = _ProductField(slug_field="slug", required=False, allow_null=True)
    theme = _ThemeField(required=False, allow_null=True)
    owner = _UserField(slug_field="username", required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)


class StatusInputSerializer(InputSerializer):
    status = _status_field(CustomizationRequest.Status.choices, max_length=10)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    delivery_note = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default=None
    )

    def validate_status(self, value: str) -> str:
        if value not in CustomizationRequest.Status.values:
            raise serializers.ValidationError(f"“{value}” is not a status.")
        return value


class EvidenceInputSerializer(InputSerializer):
    feedback_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=500
    )


class EvidenceResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Links added or removed")
    evidence = serializers.ListField(child=serializers.IntegerField())


class PreferenceInputSerializer(InputSerializer):
    key = serializers.CharField(max_length=80)
    value = serializers.CharField(max_length=500)
    source = serializers.ChoiceField(
        choices=CustomerPreference.Source.choices, default=CustomerPreference.Source.API
    )
    stated_on = serializers.DateField(required=False, allow_null=True, default=None)


class PreferenceUpdateSerializer(InputSerializer):
    key = serializers.CharField(max_length=80, required=False)
    value = serializers.CharField(max_length=500, required=False)
    source = serializers.ChoiceField(choices=CustomerPreference.Source.choices, required=False)
    stated_on = serializers.DateField(required=False)


# --- segments -------------------------------------------------------------------------------


class SegmentFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Segment.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Segment.Kind.choices)

    class Meta:
        model = Segment
        fields = []


class SegmentListCreateView(generics.ListAPIView):
    """List segments (filter by status and kind) or define a rule segment."""

    serializer_class = SegmentSerializer
    filterset_class = SegmentFilter
    ordering_fields = ["name", "member_count", "created_at"]
    ordering = ["name"]
    search_fields = []
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "POST": WRITE}
    required_perms = {"GET": "customization.view_segment", "POST": "customization.manage_segments"}

    def get_queryset(self):
        return Segment.objects.all()

    @extend_schema(request=SegmentInputSerializer, responses={201: SegmentSerializer})
    def post(self, request):
        data = SegmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segment_services.create_rule_segment(
            **data.validated_data, created_by=_actor(request)
        )
        return Response(SegmentSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(generics.RetrieveAPIView):
    """Read a segment, or change its name, description or (rule segments) rules."""

    serializer_class = SegmentSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "PATCH": WRITE}
    required_perms = {"GET": "customization.view_segment", "PATCH": "customization.manage_segments"}

    def get_queryset(self):
        return Segment.objects.all()

    @extend_schema(request=SegmentUpdateSerializer, responses={200: SegmentSerializer})
    def patch(self, request, pk: int):
        segment = self.get_object()
        data = SegmentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segment_services.update_segment(segment=segment, **data.validated_data)
        return Response(SegmentSerializer(segment).data)


class SegmentMembersView(generics.ListAPIView):
    """The customers in a segment, a page at a time."""

    serializer_class = MemberSerializer
    filter_backends = []
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": "customization.view_segment"}

    def get_queryset(self):
        segment = get_object_or_404(Segment, pk=self.kwargs["pk"])
        return segment.customers.order_by("name", "id")


class _SegmentAction(APIView):
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": WRITE}
    required_perms = {"POST": "customization.manage_segments"}

    def segment(self, pk: int) -> Segment:
        return get_object_or_404(Segment, pk=pk)


class SegmentAcceptView(_SegmentAction):
    """Accept a pending suggestion (optionally under a new name): it becomes active."""

    @extend_schema(request=AcceptSerializer, responses={200: SegmentSerializer})
    def post(self, request, pk: int):
        data = AcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segment_services.accept_suggestion(
            segment=self.segment(pk), name=data.validated_data.get("name") or None
        )
        return Response(SegmentSerializer(segment).data)


class SegmentDiscardView(_SegmentAction):
    """Discard a pending suggestion."""

    @extend_schema(request=None, responses={200: SegmentSerializer})
    def post(self, request, pk: int):
        segment = segment_services.discard_suggestion(segment=self.segment(pk))
        return Response(SegmentSerializer(segment).data)


class SegmentRefreshView(_SegmentAction):
    """Re-materialise a rule segment's members now."""

    @extend_schema(request=None, responses={200: SegmentSerializer})
    def post(self, request, pk: int):
        segment = self.segment(pk)
        segment_services.refresh_segment_membership(segment=segment)
        segment.refresh_from_db()
        return Response(SegmentSerializer(segment).data)


# --- customization requests ----------------------------------------------------------------


class RequestFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=CustomizationRequest.Status.choices)
    product = django_filters.CharFilter(field_name="product__slug", label="Product slug")
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner username")
    segment = django_filters.NumberFilter(field_name="segment_id", label="Segment id")
    customer = django_filters.NumberFilter(field_name="customer_id", label="Customer id")
    theme = django_filters.NumberFilter(field_name="theme_id", label="Theme id")
    promoted = BooleanFilter(
        field_name="promoted_to", lookup_expr="isnull", exclude=True, label="Promoted"
    )

    class Meta:
        model = CustomizationRequest
        fields = []


class RequestListCreateView(generics.ListAPIView):
    """List customization requests (filters, ordering, pages) or open a new one."""

    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    ordering_fields = ["value_at_stake", "due_date", "created_at", "updated_at", "id"]
    ordering = ["-created_at", "-id"]
    search_fields = ["title", "description"]
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "POST": WRITE}
    required_perms = {
        "GET": "customization.view_customizationrequest",
        "POST": "customization.add_customizationrequest",
    }

    def get_queryset(self):
        return selectors.request_list()

    @extend_schema(request=RequestInputSerializer, responses={201: RequestDetailSerializer})
    def post(self, request):
        data = RequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = services.create_customization_request(
            **data.validated_data, requested_by=_actor(request)
        )
        return Response(
            RequestDetailSerializer(selectors.request_list().get(pk=obj.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class _RequestView(generics.GenericAPIView):
    permission_classes = [HasScopeOrPermission]

    def get_queryset(self):
        return selectors.request_list()

    def fresh(self, pk: int):
        return Response(RequestDetailSerializer(self.get_queryset().get(pk=pk)).data)


class RequestDetailView(_RequestView):
    """Read a request with its history and evidence, or edit its details."""

    serializer_class = RequestDetailSerializer
    required_scopes = {"GET": READ, "PATCH": WRITE}
    required_perms = {
        "GET": "customization.view_customizationrequest",
        "PATCH": "customization.manage_customizations",
    }

    def get(self, request, pk: int):
        return Response(RequestDetailSerializer(self.get_object()).data)

    @extend_schema(request=RequestUpdateSerializer, responses={200: RequestDetailSerializer})
    def patch(self, request, pk: int):
        obj = self.get_object()
        data = RequestUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_customization_request(request=obj, **data.validated_data)
        return self.fresh(obj.pk)


class RequestStatusView(_RequestView):
    """Move a request along the workflow (only the allowed transitions)."""

    serializer_class = RequestDetailSerializer
    required_scopes = {"POST": WRITE}
    required_perms = {"POST": "customization.manage_customizations"}

    @extend_schema(request=StatusInputSerializer, responses={200: RequestDetailSerializer})
    def post(self, request, pk: int):
        obj = self.get_object()
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.change_request_status(
            request=obj,
            to_status=values["status"],
            changed_by=_actor(request),
            note=values["note"],
            delivery_note=values["delivery_note"],
        )
        return self.fresh(obj.pk)


class RequestEvidenceView(_RequestView):
    """Link feedback to a request (POST) or unlink it (DELETE), by feedback ids."""

    serializer_class = EvidenceResultSerializer
    required_scopes = {"POST": WRITE, "DELETE": WRITE}
    required_perms = {
        "POST": "customization.add_customizationrequest",
        "DELETE": "customization.manage_customizations",
    }

    def _answer(self, obj, changed: int):
        evidence = [link.feedback_id for link in selectors.request_evidence(obj)]
        return Response({"changed": changed, "evidence": evidence})

    @extend_schema(request=EvidenceInputSerializer, responses={200: EvidenceResultSerializer})
    def post(self, request, pk: int):
        obj = self.get_object()
        data = EvidenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        added = services.add_evidence(
            request=obj, feedback_ids=data.validated_data["feedback_ids"], added_by=_actor(request)
        )
        return self._answer(obj, added)

    @extend_schema(request=EvidenceInputSerializer, responses={200: EvidenceResultSerializer})
    def delete(self, request, pk: int):
        obj = self.get_object()
        data = EvidenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        removed = services.remove_evidence(
            request=obj, feedback_ids=data.validated_data["feedback_ids"]
        )
        return self._answer(obj, removed)


# --- customer preferences ---------------------------------------------------------------------


class PreferenceListCreateView(generics.ListAPIView):
    """A customer's stated preferences, or record one (an existing key gets the new value)."""

    serializer_class = PreferenceSerializer
    filter_backends = []
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "POST": WRITE}
    required_perms = {
        "GET": "customization.view_customerpreference",
        "POST": "customization.add_customerpreference",
    }

    def customer(self) -> Customer:
        return get_object_or_404(Customer, pk=self.kwargs["customer_pk"])

    def get_queryset(self):
        return selectors.customer_preferences(self.customer())

    @extend_schema(request=PreferenceInputSerializer, responses={201: PreferenceSerializer})
    def post(self, request, customer_pk: int):
        data = PreferenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preference = services.set_customer_preference(
            customer=self.customer(), recorded_by=_actor(request), **data.validated_data
        )
        return Response(PreferenceSerializer(preference).data, status=status.HTTP_201_CREATED)


class PreferenceDetailView(generics.RetrieveAPIView):
    """Read, change or delete one stated preference."""

    serializer_class = PreferenceSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}
    required_perms = {
        "GET": "customization.view_customerpreference",
        "PATCH": "customization.change_customerpreference",
        "DELETE": "customization.delete_customerpreference",
    }

    def get_queryset(self):
        return CustomerPreference.objects.filter(
            customer_id=self.kwargs["customer_pk"]
        ).select_related("recorded_by")

    @extend_schema(request=PreferenceUpdateSerializer, responses={200: PreferenceSerializer})
    def patch(self, request, customer_pk: int, pk: int):
        preference = self.get_object()
        data = PreferenceUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preference = services.update_customer_preference(
            preference=preference, recorded_by=_actor(request), **data.validated_data
        )
        return Response(PreferenceSerializer(preference).data)

    @extend_schema(responses={204: None})
    def delete(self, request, customer_pk: int, pk: int):
        services.delete_customer_preference(preference=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
