"""The per-client counters of the public forms: rates, addresses, one round trip."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.rate_limits import current_window, limit_posts_per_ip, parse_rate


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("10/m", (10, 60)),
        ("5/h", (5, 3600)),
        ("100/d", (100, 86400)),
        ("3/10s", (3, 10)),
        ("20/min", (20, 60)),
        (" 7 / hour ", (7, 3600)),
    ],
)
def test_rates(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "10", "ten/m", "10/w", "10/m/h"])
def test_a_rate_that_means_nothing_is_refused(rate):
    with pytest.raises(ImproperlyConfigured):
        parse_rate(rate)


def test_a_window_names_its_counter_and_its_end():
    # 10 a minute, half a second before and at a minute's turn: two windows.
    before = current_window("ratelimit:form", "10.0.0.1", "10/m", now=1_800_000_059.5)
    after = current_window("ratelimit:form", "10.0.0.1", "10/m", now=1_800_000_060.0)
    assert (before.limit, before.seconds) == (10, 60)
    assert before.key == "ratelimit:form:10.0.0.1:30000000"
    assert before.ends_at == 1_800_000_060.0
    assert after.key == "ratelimit:form:10.0.0.1:30000001"
    assert after.ends_at - before.ends_at == 60


@limit_posts_per_ip("TEST_FORM_RATE")
def _view(request):
    return HttpResponse("limited" if request.limited else "ok")


@pytest.fixture
def rate(settings):
    settings.TEST_FORM_RATE = "2/h"
    cache.clear()
    yield
    cache.clear()


def post(address: str) -> str:
    return _view(RequestFactory().post("/form/", REMOTE_ADDR=address)).content.decode()


def test_an_ipv6_client_counts_by_its_64_network(rate):
    assert [post("2001:db8:1:2::1"), post("2001:db8:1:2::ffff")] == ["ok", "ok"]
    # A third address of the same /64 is the same subscriber: over the rate.
    assert post("2001:db8:1:2:aaaa::3") == "limited"
    assert post("2001:db8:1:3::1") == "ok"
    assert post("10.0.0.1") == "ok"


def test_an_ipv4_client_behind_a_dual_stack_proxy_counts_by_its_ipv4_address(rate):
    assert [post("::ffff:10.1.1.1"), post("10.1.1.1")] == ["ok", "ok"]
    assert post("::ffff:10.1.1.1") == "limited"
    # Another IPv4 client, mapped too, has a counter of its own.
    assert post("::ffff:10.1.1.2") == "ok"


def test_a_counter_expires_with_its_window(rate, redis_url, settings):
    if "django_redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the cache is not Redis (REDIS_URL unset)")
    from django_redis import get_redis_connection

    post("10.0.0.7")
    client = get_redis_connection("default")
    keys = [k for k in client.keys("*ratelimit:*") if b"10.0.0.7" in k]
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 3600 + 1


def test_reading_the_form_is_not_counted(rate):
    for _ in range(5):
        request = RequestFactory().get("/form/", REMOTE_ADDR="10.0.0.9")
        assert _view(request).content == b"ok"
    assert [post("10.0.0.9"), post("10.0.0.9"), post("10.0.0.9")] == ["ok", "ok", "limited"]


def test_the_form_stays_open_when_the_cache_is_down(settings):
    settings.TEST_FORM_RATE = "1/h"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    assert [post("10.0.0.5") for _ in range(3)] == ["ok"] * 3
