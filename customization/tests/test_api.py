"""The customization API: scopes and permissions, input → service → output, 400s, queries."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts import authentication
from accounts.services import create_api_key
from customization import segment_services, services
from customization.models import CustomerPreference, CustomizationRequest, Segment
from feedback.models import Customer
from feedback.tests.factories import CustomerFactory, FeedbackFactory

pytestmark = pytest.mark.django_db
SEGMENTS = "/api/v1/segments/"
REQUESTS = "/api/v1/customization-requests/"


@pytest.fixture(autouse=True)
def empty_key_memory():
    authentication._known_keys.clear()
    yield
    authentication._known_keys.clear()


def key_client(*scopes):
    _, raw = create_api_key(name="crm", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def user_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def segment(population):
    return segment_services.create_rule_segment(
        name="EMEA", rules=[{"field": "attributes.region", "op": "eq", "value": "EMEA"}]
    )


def test_scopes_decide_for_api_keys(population):
    reader = key_client("backlog:read")
    assert reader.get(SEGMENTS).status_code == 200
    assert reader.get(REQUESTS).status_code == 200
    rules = [{"field": "tier", "op": "eq", "value": "premium"}]
    assert reader.post(SEGMENTS, {"name": "P", "rules": rules}).status_code == 403
    assert key_client("feedback:read").get(SEGMENTS).status_code == 403
    writer = key_client("backlog:read", "backlog:write")
    response = writer.post(SEGMENTS, {"name": "P", "rules": rules})
    assert response.status_code == 201
    assert response.json()["member_count"] == 3
    assert Segment.objects.get(name="P").created_by is None
    assert APIClient().get(SEGMENTS).status_code in (401, 403)


def test_people_need_the_page_permissions(population, outsider, staff_member, manager, segment):
    rules = [{"field": "tier", "op": "eq", "value": "premium"}]
    assert user_client(outsider).get(SEGMENTS).status_code == 403
    assert user_client(staff_member).get(SEGMENTS).status_code == 200
    assert (
        user_client(staff_member).post(SEGMENTS, {"name": "P", "rules": rules}).status_code == 403
    )
    assert user_client(manager).post(SEGMENTS, {"name": "P", "rules": rules}).status_code == 201
    created = user_client(staff_member).post(
        REQUESTS, {"title": "SSO", "customer": population["Bolt"].pk}
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    assert (
        user_client(staff_member)
        .post(f"{REQUESTS}{pk}/status/", {"status": "assessed"})
        .status_code
        == 403
    )
    assert user_client(staff_member).patch(f"{REQUESTS}{pk}/", {"title": "x"}).status_code == 403
    assert (
        user_client(manager).post(f"{REQUESTS}{pk}/status/", {"status": "assessed"}).status_code
        == 200
    )


def test_segment_members_update_and_bad_rules(population, segment, manager):
    client = user_client(manager)
    members = client.get(f"{SEGMENTS}{segment.pk}/members/").json()
    assert {m["name"] for m in members["results"]} == {"Acme", "Bolt", "Hive"}
    response = client.patch(
        f"{SEGMENTS}{segment.pk}/",
        {"rules": [{"field": "attributes.region", "op": "in", "value": ["APAC"]}]},
    )
    assert response.status_code == 200 and response.json()["member_count"] == 2
    response = client.patch(
        f"{SEGMENTS}{segment.pk}/", {"rules": [{"field": "shoe", "op": "eq", "value": 1}]}
    )
    assert response.status_code == 400
    assert "unknown field" in response.json()["errors"]["rules"][0]
    response = client.post(
        SEGMENTS, {"name": "EMEA", "rules": [{"field": "tier", "op": "eq", "value": "free"}]}
    )
    assert response.status_code == 409 and "name" in response.json()["errors"]
    assert client.post(SEGMENTS, {"name": "X", "rules": "tier"}).status_code == 400


def test_accept_and_discard_suggestions(manager):
    one = Segment.objects.create(name="Suggested: A", kind="suggested", status="suggested")
    two = Segment.objects.create(name="Suggested: B", kind="suggested", status="suggested")
    client = user_client(manager)
    response = client.post(f"{SEGMENTS}{one.pk}/accept/", {"name": "Fans"})
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert response.json()["name"] == "Fans"
    assert client.post(f"{SEGMENTS}{two.pk}/discard/").json()["status"] == "discarded"
    assert client.post(f"{SEGMENTS}{two.pk}/discard/").status_code == 400
    listed = client.get(SEGMENTS, {"status": "discarded"}).json()["results"]
    assert [s["id"] for s in listed] == [two.pk]


def test_request_lifecycle_over_the_api(population, segment):
    client = key_client("backlog:read", "backlog:write")
    feedback = FeedbackFactory(customer=population["Acme"])
    response = client.post(
        REQUESTS,
        {"title": "Local invoices", "segment": segment.pk, "feedback_ids": [feedback.pk]},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["value_at_stake"] == "215000.00"
    assert body["evidence"] == [feedback.pk]
    assert body["allowed_transitions"] == ["assessed", "declined"]
    pk = body["id"]
    other = FeedbackFactory()
    assert (
        client.post(f"{REQUESTS}{pk}/evidence/", {"feedback_ids": [other.pk]}).json()["changed"]
        == 1
    )
    response = client.delete(f"{REQUESTS}{pk}/evidence/", {"feedback_ids": [feedback.pk]})
    assert response.json() == {"changed": 1, "evidence": [other.pk]}
    response = client.post(f"{REQUESTS}{pk}/status/", {"status": "accepted"})
    assert response.status_code == 400 and "status" in response.json()["errors"]
    response = client.post(f"{REQUESTS}{pk}/status/", {"status": "assessed", "note": "ok"})
    assert response.json()["history"][-1]["to_status"] == "assessed"
    response = client.patch(
        f"{REQUESTS}{pk}/", {"segment": None, "customer": population["Cora"].pk}
    )
    assert response.status_code == 200 and response.json()["value_at_stake"] == "9000.00"
    assert client.post(f"{REQUESTS}{pk}/status/", {"status": "bogus"}).status_code == 400


def test_bad_request_input_is_a_400(population, segment):
    client = key_client("backlog:write")
    both = client.post(
        REQUESTS, {"title": "X", "customer": population["Acme"].pk, "segment": segment.pk}
    )
    assert both.status_code == 400 and set(both.json()["errors"]) >= {"customer", "segment"}
    assert client.post(REQUESTS, {"title": "X"}).status_code == 400
    assert client.post(REQUESTS, {"title": "X", "customer": 99999}).status_code == 400
    response = client.post(
        REQUESTS, {"title": "X", "customer": population["Acme"].pk, "feedback_ids": [99999]}
    )
    assert response.status_code == 400 and "feedback_ids" in response.json()["errors"]
    assert not CustomizationRequest.objects.exists()


def test_list_filters_and_ordering(population, segment):
    low = services.create_customization_request(title="Low", customer=population["Cora"])
    high = services.create_customization_request(title="High", customer=population["Echo"])
    on_segment = services.create_customization_request(title="Seg", segment=segment)
    client = key_client("backlog:read")
    ordered = client.get(REQUESTS, {"ordering": "-value_at_stake"}).json()["results"]
    assert [r["id"] for r in ordered] == [high.pk, on_segment.pk, low.pk]
    assert [r["id"] for r in client.get(REQUESTS, {"segment": segment.pk}).json()["results"]] == [
        on_segment.pk
    ]
    assert [
        r["id"] for r in client.get(REQUESTS, {"customer": population["Cora"].pk}).json()["results"]
    ] == [low.pk]
    assert client.get(REQUESTS, {"status": "nope"}).status_code == 400


def test_preferences_per_customer(population, staff_member, manager):
    acme = population["Acme"]
    url = f"/api/v1/customers/{acme.pk}/preferences/"
    staff = user_client(staff_member)
    response = staff.post(url, {"key": "channel", "value": "email"})
    assert response.status_code == 201 and response.json()["source"] == "api"
    pk = response.json()["id"]
    assert staff.patch(f"{url}{pk}/", {"value": "phone"}).json()["value"] == "phone"
    assert staff.delete(f"{url}{pk}/").status_code == 403
    assert staff.post(url, {"key": "", "value": "x"}).status_code == 400
    assert [p["key"] for p in staff.get(url).json()["results"]] == ["channel"]
    other = CustomerFactory()
    assert staff.get(f"/api/v1/customers/{other.pk}/preferences/{pk}/").status_code == 404
    assert user_client(manager).delete(f"{url}{pk}/").status_code == 204
    assert not CustomerPreference.objects.exists()
    assert key_client("backlog:read").post(url, {"key": "a", "value": "b"}).status_code == 403


def test_list_endpoints_have_bounded_query_counts(segment, django_assert_max_num_queries):
    for index in range(40):
        customer = CustomerFactory(annual_value=Decimal(index))
        services.create_customization_request(
            title=f"R{index}",
            customer=customer,
            feedback_ids=[FeedbackFactory(customer=customer).pk],
        )
        services.set_customer_preference(
            customer=Customer.objects.first(), key=f"k{index}", value="v"
        )
    client = key_client("backlog:read")
    client.get(SEGMENTS)  # the key is looked up once, then remembered
    with django_assert_max_num_queries(3):
        assert len(client.get(REQUESTS).json()["results"]) == 40
    with django_assert_max_num_queries(3):
        assert client.get(SEGMENTS).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(f"{SEGMENTS}{segment.pk}/members/").status_code == 200
    customer = Customer.objects.first()
    with django_assert_max_num_queries(4):
        assert (
            len(client.get(f"/api/v1/customers/{customer.pk}/preferences/").json()["results"]) == 40
        )


def test_relations_that_may_be_empty_are_nullable_in_the_schema():
    schemas = APIClient().get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    for component, field in [
        ("Request", "product"),
        ("Request", "owner"),
        ("Request", "requested_by"),
        ("RequestDetail", "owner"),
        ("Preference", "recorded_by"),
    ]:
        assert schemas[component]["properties"][field].get("nullable"), (component, field)


def test_a_rule_value_with_a_nul_character_is_a_400_not_a_500(population, segment, manager):
    client = user_client(manager)
    rules = [{"field": "attributes.region", "op": "eq", "value": "EM\u0000EA"}]
    response = client.post(SEGMENTS, {"name": "Nul", "rules": rules}, format="json")
    assert response.status_code == 400
    assert "NUL" in response.json()["errors"]["rules"][0]
    response = client.patch(f"{SEGMENTS}{segment.pk}/", {"rules": rules}, format="json")
    assert response.status_code == 400
    assert not Segment.objects.filter(name="Nul").exists()


def test_a_preference_stated_in_the_future_is_a_400(population, staff_member):
    client = user_client(staff_member)
    url = f"/api/v1/customers/{population['Acme'].pk}/preferences/"
    response = client.post(url, {"key": "language", "value": "fr", "stated_on": "9999-12-31"})
    assert response.status_code == 400 and "stated_on" in response.json()["errors"]
    assert not CustomerPreference.objects.exists()
    pk = client.post(url, {"key": "language", "value": "fr"}).json()["id"]
    response = client.patch(f"{url}{pk}/", {"stated_on": "9999-12-31"})
    assert response.status_code == 400 and "stated_on" in response.json()["errors"]
    assert CustomerPreference.objects.get().stated_on.year != 9999
