"""Celery tasks of the innovation backlog: each reloads rows and calls one service."""

from __future__ import annotations

# --- Backlog: evidence numbers and scores ---------------------------------------------------

# --- Roadmap: suggestions, closing the loop, impact checks ----------------------------------
