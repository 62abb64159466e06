"""Wake the analysis worker after feedback is committed, without costing the request.

``request_analysis`` only sets a flag. One daemon thread per process turns flags into at
most one task message per debounce window, and always sends one after the last flag
(trailing edge), so every committed row is followed by a wake-up. When the broker is down
the send fails in that thread, never in the request; the periodic sweep catches up.

With a Redis cache the window is shared by every web process: a process sends only when
it opens the window (``SET NX PX``); when another process holds it, it waits for the
window to close and tries again. A message sent by whoever opens a later window (told
by the holder's token) leaves after this process's flag, so it covers these rows too. Without the
shared window (four web processes, four messages per window) the worker's fixed cost per
wake-up (claim, model look-ups, commit) cost more than scoring the rows themselves.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid

from django.conf import settings

logger = logging.getLogger(__name__)

_wanted = threading.Event()
_state_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid: int | None = None

WINDOW_KEY = "focusloop:analysis-wake-up"


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


def _shared_redis():
    """The cache's Redis client when the cache is django-redis, else None."""
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def open_window(client, window_ms: int) -> tuple[bool, int, str | None]:
    """Try to open the shared debounce window: (opened, milliseconds until it closes, the
    holder's token — each opening writes a new one, so two readings tell whether it is
    still the same window). A Redis error counts as opened: better one message too many
    than a row left waiting."""
    token = uuid.uuid4().hex
    try:
        if client.set(WINDOW_KEY, token, nx=True, px=window_ms):
            return True, window_ms, token
        holder, remaining = client.pipeline(transaction=False).get(WINDOW_KEY).pttl(
            WINDOW_KEY
        ).execute()
        holder = holder.decode() if isinstance(holder, bytes) else holder
        return False, max(int(remaining), 1), holder
    except Exception:
        logger.warning("analysis wake-up window not shared (Redis refused)", exc_info=True)
        return True, window_ms, token


# Windows waited for at most before sending anyway (a clock or Redis oddity must never
# leave committed rows without a wake-up).
_MAX_WAITS = 5


def wake_up_once(client=None) -> None:
    """Send one wake-up, unless another web process sends one after this call anyway."""
    window = settings.ANALYSIS_TRIGGER_DEBOUNCE_SECONDS
    if client is None:
        send_wake_up()
        return
    window_ms = max(int(window * 1000), 1)
    first_holder = None
    for _attempt in range(_MAX_WAITS):
        opened, remaining_ms, holder = open_window(client, window_ms)
        if opened:
            send_wake_up()
            return
        if first_holder is None:
            first_holder = holder
        elif holder != first_holder:
            # A window opened after our flag was raised: its message covers our rows.
            return
        # The window seen first may have been opened before our rows were committed:
        # wait until it closes (a millisecond more: Redis counts whole milliseconds).
        time.sleep(remaining_ms / 1000 + 0.002)
    send_wake_up()


def _run() -> None:
    client = _shared_redis()
    while True:
        _wanted.wait()
        _wanted.clear()
        wake_up_once(client)
        # Flags raised while we sleep are coalesced into the next message.
        time.sleep(settings.ANALYSIS_TRIGGER_DEBOUNCE_SECONDS)
