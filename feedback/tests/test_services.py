import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback.models import Feedback
from feedback.services import DuplicateFeedback, record_feedback, update_feedback_triage
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_record_feedback_stores_row_with_normalised_rating():
    product = ProductFactory()
    customer = CustomerFactory(internal=True)

    feedback = record_feedback(
        channel="review", source="google", external_id="g-1", text="  Great delivery  ",
        rating=4, rating_min=1, rating_max=5, customer=customer, product=product,
        tags=["Delivery", "delivery", " Speed "],
    )

    stored = Feedback.objects.get(pk=feedback.pk)
    assert stored.text == "Great delivery"
    assert stored.rating == Decimal("4")
    assert stored.rating_normalised == pytest.approx(0.75)
    assert stored.customer.kind == "internal"
    assert sorted(stored.tags.values_list("name", flat=True)) == ["delivery", "speed"]
    assert stored.analysed_at is None
    assert stored.status == Feedback.Status.NEW


def test_record_feedback_schedules_analysis_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        record_feedback(channel="form", text="Hello")
    assert [cb.__name__ for cb in callbacks] == ["request_analysis"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "nul\x00byte"}, "text"),
        ({"text": "ok", "channel": "carrier-pigeon"}, "channel"),
        ({"text": "ok", "rating": 7, "rating_min": 1, "rating_max": 5}, "rating"),
        ({"text": "ok", "rating": 3}, "rating_max"),
        ({"text": "ok", "rating": "abc", "rating_min": 1, "rating_max": 5}, "rating"),
        ({"text": "ok", "received_at": dt.datetime(2026, 1, 1)}, "received_at"),
    ],
)
def test_record_feedback_rejects_bad_input_and_stores_nothing(kwargs, field):
    kwargs.setdefault("channel", "api")
    with pytest.raises(ValidationError) as excinfo:
        record_feedback(**kwargs)
    assert field in excinfo.value.message_dict
    assert Feedback.objects.count() == 0


def test_repeated_external_id_from_same_source_is_a_duplicate():
    first = record_feedback(channel="review", source="trustpilot", external_id="r-9", text="Fine")

    with pytest.raises(DuplicateFeedback) as excinfo:
        record_feedback(channel="review", source="trustpilot", external_id="r-9", text="Again")

    assert excinfo.value.existing == first
    assert Feedback.objects.count() == 1
    # Another source may reuse the id, and rows without an external id never clash.
    record_feedback(channel="review", source="google", external_id="r-9", text="Other site")
    record_feedback(channel="form", text="a")
    record_feedback(channel="form", text="b")
    assert Feedback.objects.count() == 4


def test_triage_changes_only_what_is_given(staff_member, outsider):
    feedback = FeedbackFactory()

    update_feedback_triage(feedback=feedback, status="triaged", assignee=staff_member, tags=["billing"])
    feedback.refresh_from_db()
    assert (feedback.status, feedback.assignee) == ("triaged", staff_member)
    assert list(feedback.tags.values_list("name", flat=True)) == ["billing"]

    update_feedback_triage(feedback=feedback, status="closed")
    feedback.refresh_from_db()
    assert (feedback.status, feedback.assignee) == ("closed", staff_member)
    assert feedback.tags.count() == 1

    update_feedback_triage(feedback=feedback, assignee=None, tags=[])
    feedback.refresh_from_db()
    assert feedback.assignee is None and feedback.tags.count() == 0


def test_triage_rejects_unknown_status_and_assignee_without_role(outsider):
    feedback = FeedbackFactory()
    with pytest.raises(ValidationError) as excinfo:
        update_feedback_triage(feedback=feedback, status="lost")
    assert "status" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        update_feedback_triage(feedback=feedback, assignee=outsider)
    assert "assignee" in excinfo.value.message_dict
    feedback.refresh_from_db()
    assert feedback.status == "new" and feedback.assignee is None


def test_unanalysed_queryset_lists_only_pending_rows():
    pending = FeedbackFactory()
    FeedbackFactory(analysed_at=timezone.now(), sentiment_score=0.5, sentiment_label="positive")
    assert list(Feedback.objects.unanalysed()) == [pending]
