"""The beat scheduler: django-celery-beat's database schedule, seeded from the defaults
in config/celery.py without ever overwriting what an admin changed.

django-celery-beat's own ``DatabaseScheduler`` writes every ``beat_schedule`` entry into
the database with ``update_or_create`` each time beat starts, so an admin who re-timed an
entry would see it reset at the next deploy. This scheduler only creates the entries the
database does not have yet.
"""

from __future__ import annotations

from django.db import transaction
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry


def sync_default_schedule(schedule: dict | None = None) -> list[str]:
    """Create the default entries missing from the database, each with its description
    for the admin (``BEAT_DESCRIPTIONS``), and give existing entries without one theirs;
    return the names created."""
    from config.celery import BEAT_DESCRIPTIONS

    if schedule is None:
        from config.celery import DEFAULT_BEAT_SCHEDULE as schedule
    existing = set(PeriodicTask.objects.filter(name__in=schedule).values_list("name", flat=True))
    created = []
    for name, fields in schedule.items():
        description = BEAT_DESCRIPTIONS.get(name, "")
        if name in existing:
            if description:
                PeriodicTask.objects.filter(name=name, description="").update(
                    description=description
                )
            continue
        with transaction.atomic():
            ModelEntry.from_entry(name, description=description, **fields)
        created.append(name)
    return created


class DefaultsKeepingScheduler(DatabaseScheduler):
    """``DatabaseScheduler`` that seeds missing defaults instead of overwriting entries."""

    def setup_schedule(self):
        sync_default_schedule(dict(self.app.conf.beat_schedule or {}))
        self.install_default_entries(self.schedule)
