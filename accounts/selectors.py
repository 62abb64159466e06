from django.db.models import QuerySet

from api.models import WebhookDelivery, WebhookEndpoint

from .models import ApiKey

RECENT_DELIVERIES = 50


def api_key_list() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("created_by").order_by("-created_at", "-id")


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("name", "id")


def recent_deliveries(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.order_by("-created_at", "-id")[:RECENT_DELIVERIES]
