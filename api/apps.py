from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The API platform: idempotency, pagination, throttling, errors and webhooks."""

    name = "api"
    verbose_name = "API platform"
