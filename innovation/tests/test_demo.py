import pytest

from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory
from innovation.demo import IDEAS, seed_demo_innovation
from innovation.models import Idea

pytestmark = pytest.mark.django_db


def test_seed_demo_innovation_is_idempotent_and_covers_every_status(
    django_capture_on_commit_callbacks,
):
    products = {spec.product for spec in IDEAS}
    for slug in products:
        product = ProductFactory(slug=slug, name=slug)
        for spec in [s for s in IDEAS if s.product == slug]:
            for n in range(12):
                FeedbackFactory(
                    product=product,
                    text=f"Complaint {n}: {spec.words[0]} is a problem",
                    customer=CustomerFactory(),
                )

    with django_capture_on_commit_callbacks(execute=False):
        first = seed_demo_innovation()
        second = seed_demo_innovation()

    assert (first.created, second.created) == (len(IDEAS), 0)
    assert Idea.objects.count() == len(IDEAS)
    assert set(Idea.objects.values_list("status", flat=True)) == set(Idea.Status.values)
    assert {"now", "next", "later"} <= set(Idea.objects.values_list("lane", flat=True))
    shipped = Idea.objects.get(status=Idea.Status.SHIPPED)
    assert shipped.release_note and shipped.shipped_at
    assert all(i.evidence_count > 0 for i in Idea.objects.all())
    assert Idea.objects.filter(vote_count__gt=0).count() == len(IDEAS)
    assert Idea.objects.filter(rice_score__isnull=False).count() == len(IDEAS)
