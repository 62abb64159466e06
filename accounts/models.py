from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

KEY_PREFIX = "fl_"


class ApiKeyQuerySet(models.QuerySet):
    def usable(self) -> ApiKeyQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A key another system sends as ``Authorization: Bearer <key>``.

    Only a SHA-256 digest is stored: the key itself is shown once, when it is created.
    """

    class Scope(models.TextChoices):
        FEEDBACK_READ = "feedback:read", "Read feedback"
        FEEDBACK_WRITE = "feedback:write", "Write feedback"
        SURVEYS_READ = "surveys:read", "Read surveys, responses and results"
        SURVEYS_WRITE = "surveys:write", "Submit survey responses and send invitations"
        INSIGHTS_READ = "insights:read", "Read metrics, themes, forecasts and alerts"
        INSIGHTS_WRITE = "insights:write", "Acknowledge and resolve alerts"
        BACKLOG_READ = "backlog:read", "Read segments, customization requests, ideas and roadmap"
        BACKLOG_WRITE = "backlog:write", "Write segments, customization requests, ideas, evidence"
        WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook endpoints and redeliver events"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @staticmethod
    def generate_raw_key() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(32)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


class WorkerHeartbeat(models.Model):
    """The last time a worker consuming ``queue`` ran the heartbeat task beat sends it.

    ``/healthz/workers/`` reads these: a queue whose heartbeat is older than
    ``WORKER_HEARTBEAT_MAX_AGE`` has no worker (or no beat) and answers 503.
    """

    queue = models.CharField(max_length=40, primary_key=True)
    seen_at = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.queue} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
