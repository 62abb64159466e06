import pytest
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory
from innovation import services
from innovation.models import Idea, IdeaEvidence, IdeaVote

pytestmark = pytest.mark.django_db
IDEAS = "/api/v1/ideas/"


def _key_client(scopes):
    _, raw = create_api_key(name="pm-tool", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def writer():
    return _key_client(["backlog:read", "backlog:write"])


@pytest.fixture
def idea(manager):
    return services.create_idea(
        title="Invoice export",
        problem="Invoices cannot be exported to PDF.",
        created_by=manager,
        feedback_ids=[FeedbackFactory(customer=CustomerFactory()).pk],
    )


def test_scopes_and_roles(idea, staff_member, outsider):
    assert APIClient().get(IDEAS).status_code in (401, 403)
    reader = _key_client(["backlog:read"])
    assert reader.get(IDEAS).status_code == 200
    assert reader.post(IDEAS, {"title": "x", "problem": "y"}).status_code == 403
    assert _key_client(["feedback:read"]).get(IDEAS).status_code == 403
    person = APIClient()
    person.force_authenticate(outsider)
    assert person.get(IDEAS).status_code == 403
    person.force_authenticate(staff_member)
    assert person.get(IDEAS).status_code == 200
    assert person.post(f"{IDEAS}{idea.pk}/status/", {"to_status": "planned"}).status_code == 403
    assert person.patch(f"{IDEAS}{idea.pk}/", {"effort": 2}).status_code == 403


def test_create_via_api_links_evidence_and_validates(writer):
    product = ProductFactory(slug="billing")
    feedback = FeedbackFactory()
    response = writer.post(
        IDEAS,
        {
            "title": "Bulk refunds",
            "problem": "Refunds one by one",
            "product": "billing",
            "feedback_ids": [feedback.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["origin"] == "api" and body["product"] == product.slug
    assert body["evidence_count"] == 1
    assert IdeaEvidence.objects.get(idea_id=body["id"]).source == "api"
    bad = writer.post(IDEAS, {"title": "", "problem": "p", "feedback_ids": [999999]}, format="json")
    assert bad.status_code == 400
    assert "title" in bad.json()["errors"]
    missing = writer.post(
        IDEAS, {"title": "t", "problem": "p", "feedback_ids": [999999]}, format="json"
    )
    assert missing.status_code == 400
    assert "feedback_ids" in missing.json()["errors"]


def test_list_filters_and_orders_by_score_with_bounded_queries(
    writer, manager, django_assert_max_num_queries
):
    scored = []
    for effort in (4, 1, 2):
        idea = services.create_idea(title=f"E{effort}", problem="p", created_by=manager)
        services.add_evidence(
            idea=idea, feedback_ids=[FeedbackFactory(customer=CustomerFactory()).pk], by=manager
        )
        scored.append(
            services.set_idea_scores(
                idea=idea, by=manager, impact=1, confidence=1, effort=effort, value=1
            )
        )
    unscored = services.create_idea(title="Unscored", problem="p", created_by=manager)
    for n in range(8):
        services.create_idea(title=f"Filler {n}", problem="p", created_by=manager)
    with django_assert_max_num_queries(8):
        response = writer.get(IDEAS, {"ordering": "-rice_score", "page_size": 50})
    titles = [row["title"] for row in response.json()["results"]]
    assert titles[:3] == ["E1", "E2", "E4"]
    assert titles.index("Unscored") > 2
    titles = [
        row["title"] for row in writer.get(IDEAS, {"ordering": "rice_score"}).json()["results"]
    ]
    assert titles[:3] == ["E4", "E2", "E1"]
    assert writer.get(IDEAS, {"q": "unscor"}).json()["count"] == 1
    assert writer.get(IDEAS, {"status": "planned"}).json()["count"] == 0
    assert writer.get(IDEAS, {"status": "nope"}).status_code == 400
    assert unscored.pk


def test_patch_updates_text_and_scores(idea, manager):
    client = APIClient()
    client.force_authenticate(manager)
    response = client.patch(
        f"{IDEAS}{idea.pk}/",
        {"title": "PDF invoices", "impact": 2, "confidence": 0.5, "effort": 2},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["title"] == "PDF invoices"
    assert body["rice_score"] == pytest.approx(1 * 2 * 0.5 / 2)
    assert body["problem"] == "Invoices cannot be exported to PDF."
    bad = client.patch(f"{IDEAS}{idea.pk}/", {"effort": 0}, format="json")
    assert bad.status_code == 400 and "effort" in bad.json()["errors"]


def test_a_refused_patch_changes_nothing(idea, manager):
    client = APIClient()
    client.force_authenticate(manager)
    response = client.patch(
        f"{IDEAS}{idea.pk}/",
        {"title": "Renamed", "problem": "New words", "effort": 0},
        format="json",
    )
    assert response.status_code == 400 and "effort" in response.json()["errors"]
    idea.refresh_from_db()
    assert idea.title == "Invoice export"
    assert idea.problem == "Invoices cannot be exported to PDF."


def test_patch_refuses_scores_that_would_overflow_and_the_list_stays_readable(idea, manager):
    client = APIClient()
    client.force_authenticate(manager)
    for bad in ({"value": 1e308, "effort": 0.5}, {"effort": 1e-320, "impact": 1, "confidence": 1}):
        response = client.patch(f"{IDEAS}{idea.pk}/", bad, format="json")
        assert response.status_code == 400, response.content
        assert set(response.json()["errors"]) <= set(bad)
    assert client.get(IDEAS).status_code == 200
    assert client.get(f"{IDEAS}{idea.pk}/").json()["value_effort_score"] is None


def test_status_merge_unmerge_actions(writer, idea, manager):
    assert writer.post(f"{IDEAS}{idea.pk}/status/", {"to_status": "shipped"}).status_code == 400
    response = writer.post(f"{IDEAS}{idea.pk}/status/", {"to_status": "planned", "note": "Q3"})
    assert response.status_code == 200 and response.json()["status"] == "planned"
    other = services.create_idea(title="PDF", problem="p", created_by=manager)
    response = writer.post(f"{IDEAS}{idea.pk}/merge/", {"target": other.pk})
    assert response.status_code == 200
    assert response.json()["evidence_count"] == 1
    assert writer.get(IDEAS).json()["count"] == 1
    assert writer.post(f"{IDEAS}{idea.pk}/merge/", {"target": other.pk}).status_code == 400
    response = writer.post(f"{IDEAS}{idea.pk}/unmerge/")
    assert response.status_code == 200 and response.json()["merged_into"] is None
    assert response.json()["evidence_count"] == 1
    assert writer.post(f"{IDEAS}999999/unmerge/").status_code == 404


def test_merging_into_an_unknown_idea_is_a_field_error(writer, idea):
    response = writer.post(f"{IDEAS}{idea.pk}/merge/", {"target": 999_999_999})
    assert response.status_code == 400
    assert response.json() == {"errors": {"target": ["No such idea."]}, "code": "invalid"}
    assert writer.post(f"{IDEAS}999999999/merge/", {"target": idea.pk}).status_code == 404


def test_evidence_similar_and_votes_endpoints(
    writer, idea, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")
    similar = FeedbackFactory(text="Exporting invoices to PDF fails")
    FeedbackFactory(text="Great coffee")
    for _ in range(5):
        IdeaEvidence.objects.create(idea=idea, feedback=FeedbackFactory(customer=CustomerFactory()))
    with django_assert_max_num_queries(8):
        listed = writer.get(f"{IDEAS}{idea.pk}/evidence/")
    assert listed.json()["count"] == 6
    found = writer.get(f"{IDEAS}{idea.pk}/similar/", {"limit": 5}).json()
    assert found[0]["feedback"] == similar.pk and found[0]["score"] > 0
    assert writer.get(f"{IDEAS}{idea.pk}/similar/", {"limit": "x"}).status_code == 400
    response = writer.post(
        f"{IDEAS}{idea.pk}/evidence/",
        {"feedback_ids": [similar.pk], "similarities": {str(similar.pk): found[0]["score"]}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()[0]["source"] == "similar"
    assert (
        writer.post(f"{IDEAS}{idea.pk}/evidence/", {"feedback_ids": []}, format="json").status_code
        == 400
    )
    assert writer.delete(f"{IDEAS}{idea.pk}/evidence/{similar.pk}/").status_code == 204
    gone = writer.delete(f"{IDEAS}{idea.pk}/evidence/{similar.pk}/")
    assert gone.status_code == 404
    assert gone.json() == {
        "errors": {"non_field_errors": ["That feedback is not evidence for this idea."]},
        "code": "not_found",
    }
    customer = CustomerFactory()
    assert writer.post(f"{IDEAS}{idea.pk}/votes/", {"customer": customer.pk}).status_code == 201
    assert writer.post(f"{IDEAS}{idea.pk}/votes/", {"customer": customer.pk}).status_code == 200
    assert writer.post(f"{IDEAS}{idea.pk}/votes/", {"customer": 999999}).status_code == 400
    with django_assert_max_num_queries(8):
        assert writer.get(f"{IDEAS}{idea.pk}/votes/").json()["count"] == 1
    assert Idea.objects.get(pk=idea.pk).vote_count == 1
    assert writer.delete(f"{IDEAS}{idea.pk}/votes/{customer.pk}/").status_code == 204
    assert not IdeaVote.objects.exists()
    gone = writer.delete(f"{IDEAS}{idea.pk}/votes/{customer.pk}/")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    assert gone.json()["errors"]["non_field_errors"] == [
        "That customer has not voted for this idea."
    ]
