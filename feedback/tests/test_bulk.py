import pytest
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback import services
from feedback.models import Feedback
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/feedback/bulk/"


@pytest.fixture
def writer():
    _, raw = create_api_key(name="helpdesk", scopes=["feedback:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_valid_items_are_stored_and_invalid_ones_reported_per_item(writer):
    product = ProductFactory(slug="payments")
    customer = CustomerFactory()
    FeedbackFactory(source="desk", external_id="T-1")
    items = [
        {
            "text": "Refund was quick",
            "product": "payments",
            "customer": customer.pk,
            "tags": ["refund"],
            "source": "desk",
            "external_id": "T-2",
        },
        {"text": ""},
        {"text": "Old ticket again", "source": "desk", "external_id": "T-1"},
        {"text": "Twice in one batch", "source": "desk", "external_id": "T-3"},
        {"text": "Twice in one batch", "source": "desk", "external_id": "T-3"},
        {"text": "Unknown product", "product": "nope"},
        "not an object",
        {"text": "Rated", "rating": 9, "rating_min": 0, "rating_max": 10},
    ]
    response = writer.post(URL, {"items": items}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    statuses = [r["status"] for r in body["results"]]
    assert statuses == [201, 400, 409, 201, 409, 400, 400, 201]
    assert (body["created"], body["failed"]) == (3, 5)
    assert [r["index"] for r in body["results"]] == list(range(8))
    assert "text" in body["results"][1]["errors"]
    assert "product" in body["results"][5]["errors"]
    first = Feedback.objects.get(pk=body["results"][0]["id"])
    assert (first.product, first.customer) == (product, customer)
    assert list(first.tags.values_list("name", flat=True)) == ["refund"]
    assert body["results"][2]["existing_id"] == Feedback.objects.get(external_id="T-1").pk
    assert Feedback.objects.count() == 4  # the one stored before and the three valid ones
    assert Feedback.objects.get(pk=body["results"][7]["id"]).rating_normalised == 0.9


def test_a_batch_is_limited_to_a_thousand_items(writer):
    response = writer.post(URL, {"items": [{"text": "x"}] * 1001}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()["errors"]
    assert Feedback.objects.count() == 0


def test_a_batch_of_a_thousand_is_stored_in_few_queries(writer, django_assert_max_num_queries):
    items = [{"text": f"Item {i}", "source": "crm", "external_id": f"c-{i}"} for i in range(1000)]
    # One INSERT per batch on PostgreSQL; SQLite splits it by its limit on parameters.
    with django_assert_max_num_queries(40):
        response = writer.post(URL, {"items": items}, format="json")
    assert response.json()["created"] == 1000
    assert Feedback.objects.filter(source="crm").count() == 1000


@pytest.mark.parametrize("payload", [[], {"items": []}, {"items": "x"}, {}])
def test_a_malformed_envelope_is_400(writer, payload):
    assert writer.post(URL, payload, format="json").status_code == 400


def test_bulk_needs_the_write_scope():
    _, raw = create_api_key(name="bi", scopes=["feedback:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.post(URL, {"items": [{"text": "x"}]}, format="json").status_code == 403
    assert APIClient().post(URL, {"items": [{"text": "x"}]}, format="json").status_code == 401


def test_batch_service_reports_a_duplicate_stored_meanwhile_without_losing_the_rest(
    monkeypatch,
):
    # Another writer stores "e-1" right after the batch looked for existing external ids:
    # the multi-row INSERT fails on the unique constraint and the batch falls back to one
    # savepoint per item.
    real_check = services._stored_with_external_ids

    def check_then_other_writer_inserts(keys):
        found = real_check(keys)
        FeedbackFactory(source="s", external_id="e-1", text="stored meanwhile")
        return found

    monkeypatch.setattr(services, "_stored_with_external_ids", check_then_other_writer_inserts)
    results = services.record_feedback_batch(
        [
            {"channel": "api", "text": "a", "source": "s", "external_id": "e-0", "tags": ["x"]},
            {"channel": "api", "text": "b", "source": "s", "external_id": "e-1"},
            {"channel": "api", "text": "c"},
        ]
    )
    assert isinstance(results[0], Feedback) and isinstance(results[2], Feedback)
    assert isinstance(results[1], services.DuplicateFeedback)
    assert results[1].existing.text == "stored meanwhile"
    assert sorted(Feedback.objects.values_list("text", flat=True)) == ["a", "c", "stored meanwhile"]
    assert list(results[0].tags.values_list("name", flat=True)) == ["x"]
