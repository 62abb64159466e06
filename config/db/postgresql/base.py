"""Django's PostgreSQL backend with a health check that costs no round trip when the
connection is plainly fine.

Persistent connections (``CONN_MAX_AGE``) are checked before their first use in each
request (``CONN_HEALTH_CHECKS``). Django checks with a ``SELECT 1``: one more round trip to
the server per request, which on the ingest path cost as much wall time as the INSERT
itself. A connection the server has dropped (restart, ``pg_terminate_backend``, an idle
timeout, a reset from the network) always shows it on the socket first: the server's
"terminating connection" error, the end of the stream or a reset make the idle socket
readable. So the socket is polled first, without waiting; only when something is there is
Django's ``SELECT 1`` run, which reads it and fails on a dead connection (then Django
reconnects and the request goes on). A healthy idle connection has nothing to read, except
for rare asynchronous messages (notifications, parameter changes), for which the
``SELECT 1`` runs as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg2 import extensions


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed:
            return False
        if conn.info.transaction_status != extensions.TRANSACTION_STATUS_IDLE:
            return super().is_usable()
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()
