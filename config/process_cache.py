"""Values one process keeps for a short while instead of asking the database again.

For rows read on every request that seldom change (an API key, whether an event has
webhook subscribers, a survey and its questions): each caller says how long a value may
be kept and what happens when it is stale. Per process and thread-safe; nothing is shared
between processes, so a change made elsewhere shows when the entry expires. When full,
everything is dropped (entries are cheap to read again; no eviction bookkeeping on the
hot path).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

_MISSING = object()


class ProcessCache:
    """``seconds``: how long an entry is kept, or a function returning it (read on every
    look-up, e.g. from a setting; 0 or less keeps nothing). ``max_entries``: when
    reached, the next ``put`` starts afresh."""

    def __init__(self, *, seconds: float | Callable[[], float], max_entries: int):
        self._seconds = seconds if callable(seconds) else (lambda: seconds)
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        """The value kept for ``key`` if it is still fresh, else ``default``."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] >= self._seconds():
            return default
        return entry[1]

    def put(self, key: Hashable, value) -> None:
        if self._seconds() <= 0:
            return
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)

    def get_or_load(self, key: Hashable, load: Callable[[], object]):
        """The fresh value for ``key``, or ``load()``'s, kept unless it is None."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = load()
            if value is not None:
                self.put(key, value)
        return value

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
