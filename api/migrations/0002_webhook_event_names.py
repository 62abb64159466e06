"""Webhook events take the names integrators were promised: ``response.created``,
``alert.fired``, ``customization.status_changed`` (stored subscriptions and the delivery
log follow; the reverse restores the old names)."""

from django.db import migrations

RENAMED = {
    "survey_response.created": "response.created",
    "alert.created": "alert.fired",
    "customization_request.status_changed": "customization.status_changed",
}


def _rename(apps, mapping):
    endpoints = apps.get_model("api", "WebhookEndpoint")
    deliveries = apps.get_model("api", "WebhookDelivery")
    for endpoint in endpoints.objects.all():
        events = [mapping.get(event, event) for event in endpoint.events or []]
        if events != endpoint.events:
            endpoint.events = sorted(set(events))
            endpoint.save(update_fields=["events"])
    for old, new in mapping.items():
        deliveries.objects.filter(event=old).update(event=new)


def forwards(apps, schema_editor):
    _rename(apps, RENAMED)


def backwards(apps, schema_editor):
    _rename(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [("api", "0001_webhooks")]

    operations = [migrations.RunPython(forwards, backwards)]
