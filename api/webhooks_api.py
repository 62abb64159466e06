"""Webhook endpoints over REST, for admins: register (the secret is shown once), change,
switch, remove, send a test event; read each endpoint's delivery log and redeliver an event.

Input serializer → ``api.webhooks`` service → output serializer, as the webhooks page does.
An API key needs the ``webhooks:manage`` scope; a person the permission of the page.
"""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from accounts.authentication import acting_person
from accounts.permissions import HasScopeOrPermission
from api.filters import FilterSet

from . import webhooks
from .errors import NON_FIELD
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .pagination import CursorPagination
from .serializers import InputSerializer

SCOPE = "webhooks:manage"
PERMISSION = "accounts.change_apikey"
SUBSCRIBABLE = [(value, label) for value, label in WebhookEvent.choices if value != "ping"]


class _AdminOnly:
    permission_classes = [HasScopeOrPermission]
    required_scopes = {m: SCOPE for m in ("GET", "POST", "PATCH", "DELETE")}
    required_perms = {m: PERMISSION for m in ("GET", "POST", "PATCH", "DELETE")}


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=SUBSCRIBABLE))

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "name",
            "url",
            "events",
            "active",
            "consecutive_failures",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signs every delivery (HMAC-SHA256). Shown in this answer only: keep it.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointInputSerializer(InputSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500, help_text="http(s) URL on a public host.")
    events = serializers.MultipleChoiceField(choices=SUBSCRIBABLE, allow_empty=False)
    active = serializers.BooleanField(required=False)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    status = serializers.CharField(
        read_only=True,
        help_text="One of " + ", ".join(f"`{v}`" for v in WebhookDelivery.Status.values) + ".",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "status",
            "attempts",
            "response_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
        ]
        read_only_fields = fields


def _conflict(exc) -> Response:
    return Response(
        {"errors": {NON_FIELD: exc.messages}, "code": exc.code}, status=status.HTTP_409_CONFLICT
    )


def _valid(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class WebhookEndpointListView(_AdminOnly, generics.ListAPIView):
    """Webhook endpoints by name; or register one (its secret is in this answer only)."""

    serializer_class = WebhookEndpointSerializer
    filterset_fields = ["active"]
    search_fields = ["name", "url"]
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return WebhookEndpoint.objects.all()

    @extend_schema(
        request=WebhookEndpointInputSerializer, responses={201: WebhookEndpointCreatedSerializer}
    )
    def post(self, request):
        data = _valid(WebhookEndpointInputSerializer(data=request.data))
        endpoint, secret = webhooks.create_endpoint(
            name=data["name"],
            url=data["url"],
            events=sorted(data["events"]),
            created_by=acting_person(request),
        )
        if data.get("active") is False:
            webhooks.set_endpoint_active(endpoint=endpoint, active=False)
        endpoint.secret = secret
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookEndpointDetailView(_AdminOnly, generics.RetrieveAPIView):
    """One endpoint; change its name, URL, events or switch (``active``), or remove it
    with its delivery log. Switching it on forgets its failures in a row."""

    serializer_class = WebhookEndpointSerializer
    queryset = WebhookEndpoint.objects.all()

    @extend_schema(request=WebhookEndpointInputSerializer(partial=True))
    def patch(self, request, pk: int):
        data = _valid(WebhookEndpointInputSerializer(data=request.data, partial=True))
        endpoint = webhooks.update_endpoint(
            endpoint=self.get_object(),
            name=data.get("name"),
            url=data.get("url"),
            events=sorted(data["events"]) if "events" in data else None,
            active=data.get("active"),
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        webhooks.delete_endpoint(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryFilter(FilterSet):
    event = django_filters.ChoiceFilter(choices=WebhookEvent.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event", "response_code"]


class WebhookDeliveryListView(_AdminOnly, generics.ListAPIView):
    """The delivery log of an endpoint, newest first: each event's tries, the receiver's
    last status code and error."""

    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    pagination_class = CursorPagination
    cursor_fields = ("created_at", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = get_object_or_404(WebhookEndpoint, pk=self.kwargs["pk"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)


class WebhookRedeliverView(_AdminOnly, generics.GenericAPIView):
    """Send a delivery's event again, as a new delivery queued at once (the log keeps the
    old one); for an event the receiver missed or refused."""

    serializer_class = WebhookDeliverySerializer

    def get_queryset(self):
        return WebhookDelivery.objects.select_related("endpoint").filter(
            endpoint_id=self.kwargs.get("pk")
        )

    @extend_schema(
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            409: OpenApiResponse(description="The endpoint is switched off (code switched_off)"),
        },
    )
    def post(self, request, pk: int, delivery_pk: int):
        delivery = get_object_or_404(self.get_queryset(), pk=delivery_pk)
        try:
            again = webhooks.redeliver(delivery=delivery)
        except webhooks.EndpointSwitchedOff as exc:
            return _conflict(exc)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)


class WebhookTestEventView(_AdminOnly, generics.GenericAPIView):
    """Send the endpoint a ``ping`` event now, as a new delivery queued at once; its
    outcome shows in the delivery log. A switched-off endpoint gets it too, as from the
    page: that is how a receiver is checked before it is switched back on."""

    serializer_class = WebhookDeliverySerializer
    queryset = WebhookEndpoint.objects.all()

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
    )
    def post(self, request, pk: int):
        delivery = webhooks.send_test_event(endpoint=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
