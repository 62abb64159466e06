"""Customization tasks: on a real worker through the broker, and idempotent when re-run."""

from decimal import Decimal

import pytest

from conftest import wait_until
from customization import segment_services, services
from customization.models import Segment
from customization.tasks import refresh_all_segments_task, suggest_segments_task
from feedback.models import Customer
from feedback.tests.factories import CustomerFactory


def _segment() -> Segment:
    for index in range(3):
        CustomerFactory(name=f"Big {index}", tier="enterprise", annual_value=Decimal(1000))
    CustomerFactory(name="Small", tier="free")
    return segment_services.create_rule_segment(
        name="Enterprise", rules=[{"field": "tier", "op": "eq", "value": "enterprise"}]
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_refreshes_rule_segments_and_request_values(postgres_required, celery_worker):
    segment = _segment()
    request = services.create_customization_request(title="QBR pack", segment=segment)
    assert request.value_at_stake == Decimal(3000)
    Customer.objects.filter(name="Small").update(tier="enterprise", annual_value=Decimal(500))

    refresh_all_segments_task.delay()

    assert wait_until(lambda: Segment.objects.get(pk=segment.pk).member_count == 4, timeout=60)
    request.refresh_from_db()
    assert request.value_at_stake == Decimal(3500)


@pytest.mark.django_db
def test_refresh_task_is_idempotent():
    segment = _segment()
    assert refresh_all_segments_task.apply().get() == 1
    assert refresh_all_segments_task.apply().get() == 1
    segment.refresh_from_db()
    assert segment.member_count == 3 and segment.customers.count() == 3


@pytest.mark.django_db
def test_suggest_task_replaces_pending_suggestions(settings):
    settings.SEGMENT_SUGGESTION_SEED = 11
    for index in range(10):
        CustomerFactory(name=f"Ent {index}", tier="enterprise", annual_value=Decimal(90_000))
        CustomerFactory(name=f"Free {index}", tier="free")
    first = suggest_segments_task.apply().get()
    second = suggest_segments_task.apply().get()
    assert first == second == 2
    assert Segment.objects.filter(kind="suggested").count() == 2
