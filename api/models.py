"""Webhooks: the endpoints other systems register and each delivery made to them."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

SECRET_PREFIX = "whsec_"


class WebhookEvent(models.TextChoices):
    FEEDBACK_CREATED = "feedback.created", "Feedback recorded"
    FEEDBACK_UPDATED = "feedback.updated", "Feedback triaged (status, assignee, tags)"
    FEEDBACK_DELETED = "feedback.deleted", "Feedback deleted"
    FEEDBACK_ANALYSED = "feedback.analysed", "Feedback analysed"
    RESPONSE_CREATED = "response.created", "Survey response submitted"
    ALERT_FIRED = "alert.fired", "Alert fired"
    IDEA_STATUS_CHANGED = "idea.status_changed", "Idea status changed"
    CUSTOMIZATION_STATUS_CHANGED = (
        "customization.status_changed",
        "Customization request status changed",
    )
    PING = "ping", "Test event"


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its secret.

    The secret is stored as is (the receiver needs the same one to check the HMAC) and is
    shown in full only when the endpoint is created.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=80, editable=False)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"

    @staticmethod
    def generate_secret() -> str:
        return SECRET_PREFIX + secrets.token_urlsafe(32)

    def subscribes_to(self, event: str) -> bool:
        return event == WebhookEvent.PING or event in self.events


class WebhookDeliveryQuerySet(models.QuerySet):
    def due(self, now=None) -> WebhookDeliveryQuerySet:
        return self.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now or timezone.now()
        )


class WebhookDelivery(models.Model):
    """One event for one endpoint: its payload, tries, and the receiver's last answer."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"
