"""Counting requests in leases at high rates: nothing past the limit, every number once."""

import uuid

import pytest
from django.core.cache import cache

from api import throttling

from .conftest import key_client
from .test_platform import FEEDBACK_URL, assert_error_shape

pytestmark = pytest.mark.django_db


@pytest.fixture
def window_key():
    throttling._leases.clear()
    key = f"throttle:test:{uuid.uuid4().hex}"
    yield key
    throttling._leases.clear()
    cache.delete(key)


def as_other_process(leases: dict):
    """Swap the lease table, as a second web process has its own."""
    mine = dict(throttling._leases)
    throttling._leases.clear()
    throttling._leases.update(leases)
    return mine


def test_a_process_hands_out_the_numbers_of_its_lease_in_order(window_key):
    numbers = [throttling._number(window_key, 60, 5000) for _ in range(12)]
    assert numbers == list(range(1, 13))
    # Three leases of five were counted in the cache, not twelve requests.
    assert throttling._count(window_key, 60, 0) == 15


def test_low_rates_are_counted_exactly(window_key):
    assert [throttling._number(window_key, 60, 1999) for _ in range(3)] == [1, 2, 3]
    assert throttling._count(window_key, 60, 0) == 3


def test_two_processes_never_share_a_number_nor_pass_the_limit(window_key):
    limit = 5000  # leases of 5
    other: dict = {}
    seen, allowed = [], 0
    for i in range(limit + 40):
        if i % 3 == 0:  # every third request reaches the other process
            mine = as_other_process(other)
            number = throttling._number(window_key, 60, limit)
            other = as_other_process(mine)
        else:
            number = throttling._number(window_key, 60, limit)
        seen.append(number)
        allowed += number <= limit
    assert len(set(seen)) == len(seen)
    # Unused numbers of a lease may refuse a few requests early, never let one too many.
    assert limit - 2 * 5 <= allowed <= limit


def test_a_key_past_its_high_rate_is_refused(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "api_key": "2000/hour",
        },
    }
    throttling._leases.clear()
    client = key_client(["feedback:read"])
    # Other processes use up the window's counter but for its last two numbers (the key's
    # counter is shared by all): two more requests pass, the third is refused.
    assert client.get(FEEDBACK_URL).status_code == 200  # takes a lease of 2: numbers 1, 2
    key = next(k for k in throttling._leases)
    throttling._count(key, 3600, 1996)  # now 1,998 counted
    throttling._leases.clear()
    assert [client.get(FEEDBACK_URL).status_code for _ in range(2)] == [200, 200]
    assert_error_shape(client.get(FEEDBACK_URL), 429, "throttled")
    cache.delete(key)
