import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customization.models import Segment
from feedback.models import Customer
from feedback.tests.factories import CustomerFactory, FeedbackFactory
from innovation import services, tasks
from innovation.models import Idea, IdeaEvidence, IdeaVote, SegmentWeight
from innovation.tests.factories import IdeaFactory

pytestmark = pytest.mark.django_db


def _expected(idea: Idea, weights: dict[int, list[float]]) -> dict:
    """The numbers recomputed the slow way, one idea at a time, in Python."""
    evidence = IdeaEvidence.objects.filter(idea=idea).select_related("feedback")
    customers = {e.feedback.customer_id for e in evidence if e.feedback.customer_id}
    customers |= set(IdeaVote.objects.filter(idea=idea).values_list("customer_id", flat=True))
    rows = Customer.objects.filter(pk__in=customers)
    segment_counts: dict[str, int] = {}
    for segment in Segment.objects.live():
        count = segment.customers.filter(pk__in=customers).count()
        if count:
            segment_counts[segment.name] = count
    reach = sum(max(weights.get(pk, []), default=1.0) for pk in customers)
    return {
        "evidence_count": evidence.count(),
        "vote_count": IdeaVote.objects.filter(idea=idea).count(),
        "customer_count": len(customers),
        "internal_customer_count": rows.filter(kind="internal").count(),
        "external_customer_count": rows.filter(kind="external").count(),
        "value_at_stake": sum((c.annual_value for c in rows), Decimal(0)),
        "segment_counts": segment_counts,
        "reach": pytest.approx(reach),
    }


def _world(ideas: int, seed: int = 7):
    rng = random.Random(seed)
    customers = [
        CustomerFactory(annual_value=Decimal(rng.randint(0, 5000)), internal=rng.random() < 0.3)
        for _ in range(12)
    ]
    segments = [Segment.objects.create(name=f"S{i}") for i in range(3)]
    SegmentWeight.objects.create(segment=segments[0], weight=2.5)
    SegmentWeight.objects.create(segment=segments[1], weight=0.5)
    weights: dict[int, list[float]] = {}
    for customer in customers:
        for segment, weight in zip(segments, (2.5, 0.5, 1.0), strict=True):
            if rng.random() < 0.4:
                segment.customers.add(customer)
                weights.setdefault(customer.pk, []).append(weight)
    feedback = [FeedbackFactory(customer=rng.choice([*customers, None])) for _ in range(30)]
    created = []
    for _ in range(ideas):
        idea = IdeaFactory(impact=2, confidence=0.5, effort=2, value=3)
        for row in rng.sample(feedback, rng.randint(0, 8)):
            IdeaEvidence.objects.create(idea=idea, feedback=row)
        for customer in rng.sample(customers, rng.randint(0, 4)):
            IdeaVote.objects.create(idea=idea, customer=customer)
        created.append(idea)
    return created, weights


def test_refreshed_numbers_equal_direct_queries():
    ideas, weights = _world(8)

    assert services.refresh_idea_numbers() == 8

    for idea in ideas:
        idea.refresh_from_db()
        expected = _expected(idea, weights)
        actual = {field: getattr(idea, field) for field in expected}
        assert actual == expected
        assert idea.rice_score == pytest.approx(idea.reach * 2 * 0.5 / 2)
        assert idea.value_effort_score == pytest.approx(1.5)
        assert idea.evidence_refreshed_at is not None


def test_refresh_of_some_ideas_leaves_the_others():
    ideas, _ = _world(3)
    services.refresh_idea_numbers(idea_ids=[ideas[0].pk])
    untouched = Idea.objects.get(pk=ideas[1].pk)
    assert untouched.evidence_refreshed_at is None


def _queries(idea_ids) -> int:
    with CaptureQueriesContext(connection) as captured:
        services.refresh_idea_numbers(idea_ids=idea_ids)
    return len(captured)


def test_query_count_does_not_grow_with_the_number_of_ideas():
    ideas, _ = _world(30)
    few = _queries([i.pk for i in ideas[:2]])
    many = _queries([i.pk for i in ideas])
    with CaptureQueriesContext(connection) as all_ideas:
        services.refresh_idea_numbers()
    assert many == few
    assert len(all_ideas) == few


def test_nightly_task_refreshes_everything():
    ideas, _ = _world(2)
    assert tasks.refresh_idea_numbers_task.apply().get() == 2
    assert all(
        Idea.objects.filter(pk=i.pk, evidence_refreshed_at__isnull=False).exists() for i in ideas
    )
