"""Celery tasks of the innovation backlog: each reloads rows and calls one service."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

# --- Backlog: evidence numbers and scores ---------------------------------------------------

# Redelivered if the worker dies; retried with back-off when the database was unreachable.
BACKLOG_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "soft_time_limit": 600,
    "time_limit": 660,
}


@shared_task(**BACKLOG_TASK_OPTIONS)
def refresh_idea_numbers_task(idea_ids: list[int] | None = None) -> int:
    """Nightly (all ideas) or for a few ideas: recompute evidence numbers and scores.

    Idempotent: the numbers are recomputed from the evidence and votes, not added to."""
    from . import services

    return services.refresh_idea_numbers(idea_ids=idea_ids)


# --- Roadmap: suggestions, closing the loop, impact checks ----------------------------------

# A mail server that refused or could not be reached is worth a retry; the database too.
ROADMAP_TASK_OPTIONS = {
    **BACKLOG_TASK_OPTIONS,
    "autoretry_for": (OperationalError, InterfaceError, smtplib.SMTPException, OSError),
    "soft_time_limit": 240,
    "time_limit": 300,
}


@shared_task(**ROADMAP_TASK_OPTIONS)
def suggest_ideas_task() -> dict:
    """Weekly: propose ideas for hurting themes without one (pending ones are refreshed)."""
    from .suggestions import suggest_ideas

    return suggest_ideas().as_dict()


@shared_task(**ROADMAP_TASK_OPTIONS)
def close_the_loop_task(
    idea_id: int | None = None, customization_request_id: int | None = None
) -> int:
    """After an idea shipped or a customization was delivered: email the customers who
    asked, once each (a rerun sends nothing twice; see ``innovation.loop``)."""
    from customization.models import CustomizationRequest

    from .loop import close_the_loop
    from .models import Idea

    if idea_id is not None:
        idea = Idea.objects.filter(pk=idea_id).select_related("product").first()
        return len(close_the_loop(idea=idea)) if idea else 0
    request = (
        CustomizationRequest.objects.filter(pk=customization_request_id)
        .select_related("product", "customer")
        .first()
    )
    return len(close_the_loop(customization_request=request)) if request else 0


@shared_task(**ROADMAP_TASK_OPTIONS)
def close_recent_loops_task() -> int:
    """Daily safety net: send the close-the-loop emails still missing for items shipped or
    delivered in the last week (a message lost while the broker was down)."""
    from .loop import close_recent_loops

    return close_recent_loops()


@shared_task(**ROADMAP_TASK_OPTIONS)
def check_idea_impact_task(idea_id: int | None = None) -> dict:
    """Daily: compare the theme before and after shipping for every idea whose check is due
    (or for one idea). Rerunning rewrites the same verdict."""
    from .impact import check_due_impacts, check_idea_impact
    from .models import Idea

    if idea_id is None:
        return check_due_impacts()
    idea = Idea.objects.filter(pk=idea_id).first()
    return {idea.pk: check_idea_impact(idea=idea).impact_result} if idea else {}
