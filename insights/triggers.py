"""Wake the analysis worker after feedback is committed, without costing the request.

``request_analysis`` only sets a flag. One daemon thread per process turns flags into at
most one task message per debounce window, and always sends one after the last flag
(trailing edge), so every committed row is followed by a wake-up. When the broker is down
the send fails in that thread, never in the request; the periodic sweep catches up.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_wanted = threading.Event()
_state_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None


def request_analysis() -> None:
    if not getattr(settings, "ANALYSIS_TRIGGER_ENABLED", True):
        return
    if settings.CELERY_TASK_ALWAYS_EAGER:
        send_wake_up()
        return
    _ensure_thread()
    _wanted.set()


def send_wake_up() -> bool:
    """Publish one analysis task; False (and logged) when the broker refused."""
    try:
        from .tasks import analyse_pending_feedback_task

        analyse_pending_feedback_task.apply_async(retry=False)
    except Exception:  # broker down or app half-deployed: never kill the thread; the sweep covers it
        logger.warning("analysis trigger not delivered; the sweep will pick it up", exc_info=True)
        return False
    return True


def _ensure_thread() -> None:
    global _thread, _thread_pid
    pid = os.getpid()
    if _thread is not None and _thread_pid == pid and _thread.is_alive():
        return
    with _state_lock:
        # A forked web worker inherits the flag but not the thread: start its own.
        if _thread is None or _thread_pid != pid or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="analysis-trigger", daemon=True)
            _thread_pid = pid
            _thread.start()


def _run() -> None:
    while True:
        _wanted.wait()
        _wanted.clear()
        send_wake_up()
        # Flags raised while we sleep are coalesced into the next message.
        time.sleep(settings.ANALYSIS_TRIGGER_DEBOUNCE_SECONDS)
