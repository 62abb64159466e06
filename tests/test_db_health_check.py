"""The PostgreSQL health check of persistent connections (config/db/postgresql/base.py):
no round trip for a healthy idle connection, a transparent reconnect for a dropped one."""

import time

import psycopg2
import pytest
from django.db import connections

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_required")]


@pytest.fixture
def wrapper():
    """A connection of its own, as one web process holds between requests."""
    conn = connections.create_connection("default")
    conn.ensure_connection()
    yield conn
    conn.close()


@pytest.fixture
def admin_cursor(wrapper):
    params = wrapper.get_connection_params()
    other = psycopg2.connect(**params)
    other.autocommit = True
    with other.cursor() as cursor:
        yield cursor
    other.close()


def _pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() AS focusloop_marker")
        return cursor.fetchone()[0]


def _last_statement(admin_cursor, pid: int) -> str:
    admin_cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
    return admin_cursor.fetchone()[0]


def _next_request(conn) -> None:
    """What Django does around each request: keep the connection, check it before use."""
    conn.close_if_unusable_or_obsolete()
    assert conn.connection is not None
    assert conn.health_check_done is False


def test_a_healthy_idle_connection_is_checked_without_a_statement(wrapper, admin_cursor):
    assert wrapper.health_check_enabled
    pid = _pid(wrapper)
    _next_request(wrapper)

    wrapper.close_if_health_check_failed()

    assert wrapper.health_check_done is True
    # The server saw no SELECT 1: its last statement is still the marker query.
    assert "focusloop_marker" in _last_statement(admin_cursor, pid)
    assert _pid(wrapper) == pid


def test_a_dropped_connection_is_replaced_before_the_request_uses_it(wrapper, admin_cursor):
    pid = _pid(wrapper)
    _next_request(wrapper)
    admin_cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        admin_cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        if admin_cursor.fetchone()[0] == 0:
            break
        time.sleep(0.02)

    # The request's first query runs on a new connection instead of failing.
    new_pid = _pid(wrapper)
    assert new_pid != pid


def test_pending_messages_on_the_socket_make_it_ask_the_server(wrapper, admin_cursor):
    with wrapper.cursor() as cursor:
        cursor.execute("LISTEN focusloop_health")
    pid = _pid(wrapper)
    _next_request(wrapper)
    admin_cursor.execute("NOTIFY focusloop_health")
    time.sleep(0.1)

    wrapper.close_if_health_check_failed()

    # Only a statement sent by the check can have read the notification off the socket.
    assert [n.channel for n in wrapper.connection.notifies] == ["focusloop_health"]
    assert _last_statement(admin_cursor, pid) == "SELECT 1"
    assert _pid(wrapper) == pid  # the same, healthy connection
