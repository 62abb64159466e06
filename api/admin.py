from django.contrib import admin
from django.db import models

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active", "consecutive_failures", "created_at"]
    list_filter = ["active"]
    # The secret is shown once, on the webhooks page that creates the endpoint.
    exclude = ["secret"]
    readonly_fields = ["consecutive_failures", "disabled_reason", "created_by"]
    # A URL typed without a scheme is taken as https, as on the webhooks page.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "response_code", "created_at"]
    list_filter = ["status", "event"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
