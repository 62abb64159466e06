"""The demo content goes through the services and can be written twice safely."""

import pytest

from customization.demo import seed_demo_customization
from customization.models import CustomizationRequest, CustomizationStatusChange, Segment
from feedback.tests.factories import FeedbackFactory

pytestmark = pytest.mark.django_db


def test_demo_content_is_idempotent(population):
    for name in ("Dune", "Echo", "Hive"):
        FeedbackFactory(customer=population[name])
    first = seed_demo_customization()
    history = CustomizationStatusChange.objects.count()
    second = seed_demo_customization()
    assert first == second
    assert first.segments == 3  # no "payments" product here: that rule segment is skipped
    assert first.requests == 7  # one per external customer with feedback, and one segment request
    assert CustomizationStatusChange.objects.count() == history
    statuses = set(CustomizationRequest.objects.values_list("status", flat=True))
    assert {"requested", "assessed", "accepted", "delivering", "delivered", "declined"} <= statuses
    assert Segment.objects.get(name="Enterprise accounts").member_count == 2
