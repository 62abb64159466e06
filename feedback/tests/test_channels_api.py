"""Focus groups, interviews and review sources over the API: CRUD, scopes, roles, errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback import focus_groups, interviews, review_sources
from feedback.models import Feedback, FocusGroup, Interview
from feedback.tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _key(scopes):
    _, raw = create_api_key(name="research-tool", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def integrator():
    return _key(["feedback:read", "feedback:write"])


def _as(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_focus_group_crud_and_entries(integrator, staff_member):
    ann = CustomerFactory(name="Ann", consent_research=True)
    bob = CustomerFactory(name="Bob", consent_research=False)
    ProductFactory(slug="web-shop")
    response = integrator.post(
        "/api/v1/focus-groups/",
        {
            "topic": "Checkout",
            "scheduled_at": "2025-03-01T10:00:00Z",
            "product": "web-shop",
            "moderator": staff_member.username,
            "participants": [ann.pk, bob.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["product"], body["moderator"], sorted(body["participants"]), body["status"]) == (
        "web-shop",
        "sam_staff",
        sorted([ann.pk, bob.pk]),
        "planned",
    )
    assert body["participants_without_research_consent"] == [bob.pk]
    url = f"/api/v1/focus-groups/{body['id']}/"

    entry = integrator.post(
        url + "entries/",
        {"text": "Too many steps", "participant": ann.pk, "kind": "quote", "tags": ["checkout"]},
        format="json",
    )
    assert entry.status_code == 201, entry.content
    assert (entry.json()["participant"], entry.json()["tags"], entry.json()["author"]) == (
        ann.pk,
        ["checkout"],
        None,
    )
    feedback = Feedback.objects.get(pk=entry.json()["feedback"])
    assert (feedback.channel, feedback.customer) == ("focus_group", ann)
    assert [e["text"] for e in integrator.get(url + "entries/").json()["results"]] == [
        "Too many steps"
    ]

    patched = integrator.patch(url, {"notes": "Ran long", "participants": [ann.pk]}, format="json")
    assert patched.status_code == 200
    assert (patched.json()["notes"], patched.json()["participants"], patched.json()["status"]) == (
        "Ran long",
        [ann.pk],
        "held",
    )
    assert integrator.get("/api/v1/focus-groups/").json()["count"] == 1
    assert integrator.delete(url).status_code == 204
    assert (FocusGroup.objects.count(), Feedback.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scheduled_at": "2025-03-01T10:00:00Z"}, "topic"),
        ({"topic": "x", "scheduled_at": "yesterday"}, "scheduled_at"),
        (
            {"topic": "x", "scheduled_at": "2025-03-01T10:00:00Z", "participants": [999999]},
            "participants",
        ),
        ({"topic": "x", "scheduled_at": "2025-03-01T10:00:00Z", "status": "cancelled"}, "status"),
        (
            {"topic": "x", "scheduled_at": "2025-03-01T10:00:00Z", "moderator": "nobody"},
            "moderator",
        ),
    ],
)
def test_bad_focus_group_is_400_with_field_messages(integrator, payload, field):
    response = integrator.post("/api/v1/focus-groups/", payload, format="json")
    assert response.status_code == 400
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    assert FocusGroup.objects.count() == 0


def test_entry_from_a_non_participant_is_400(integrator, staff_member):
    group = focus_groups.save_focus_group(
        topic="T", scheduled_at="2025-01-01T00:00:00Z", moderator=staff_member
    )
    response = integrator.post(
        f"/api/v1/focus-groups/{group.pk}/entries/",
        {"text": "x", "participant": CustomerFactory().pk},
        format="json",
    )
    assert response.status_code == 400 and "participant" in response.json()["errors"]
    assert (
        integrator.post(
            "/api/v1/focus-groups/999999/entries/", {"text": "x"}, format="json"
        ).status_code
        == 404
    )


def test_interview_with_uploaded_transcript_and_highlights(integrator):
    customer = CustomerFactory(name="Cem", consent_research=False)
    upload = SimpleUploadedFile("cem.md", "\ufeff# Call\n\nThe reports are slow to load.".encode())
    response = integrator.post(
        "/api/v1/interviews/",
        {
            "customer": customer.pk,
            "conducted_at": "2025-02-01T09:00:00Z",
            "transcript_file": upload,
            "guide_questions": ["What is slow?"],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["transcript"], body["transcript_name"], body["guide_questions"]) == (
        "# Call\n\nThe reports are slow to load.",
        "cem.md",
        ["What is slow?"],
    )
    assert body["customer_research_consent"] is False
    url = f"/api/v1/interviews/{body['id']}/"
    highlight = integrator.post(url + "highlights/", {"excerpt": "reports are slow"}, format="json")
    assert highlight.status_code == 201, highlight.content
    assert (highlight.json()["start"], highlight.json()["end"]) == (12, 28)
    assert Feedback.objects.get().customer == customer
    bad = integrator.post(url + "highlights/", {"excerpt": "reports are fast"}, format="json")
    assert bad.status_code == 400 and "excerpt" in bad.json()["errors"]
    # The transcript is pinned by its highlights.
    assert integrator.patch(url, {"transcript": "new"}, format="json").status_code == 400
    assert (
        integrator.patch(url, {"notes": "Follow up"}, format="json").json()["notes"] == "Follow up"
    )
    assert integrator.get(url + "highlights/").json()["count"] == 1
    assert integrator.delete(url).status_code == 204
    assert (Interview.objects.count(), Feedback.objects.count()) == (0, 0)


def test_patching_a_session_moves_the_feedback_made_in_it(integrator, staff_member):
    ann, cid = CustomerFactory(name="Ann"), CustomerFactory(name="Cid")
    ProductFactory(slug="web")
    group = focus_groups.save_focus_group(
        topic="Checkout",
        scheduled_at="2024-03-01T10:00:00Z",
        moderator=staff_member,
        participants=[ann],
    )
    quote = focus_groups.add_focus_group_entry(
        focus_group=group, text="Slow", author=None, participant=ann
    )
    interview = interviews.save_interview(
        customer=ann, conducted_at="2024-03-02T10:00:00Z", transcript="It is slow."
    )
    highlight = interviews.add_interview_highlight(interview=interview, excerpt="slow", author=None)

    response = integrator.patch(
        f"/api/v1/focus-groups/{group.pk}/",
        {"product": "web", "scheduled_at": "2024-02-01T09:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.content
    response = integrator.patch(
        f"/api/v1/interviews/{interview.pk}/",
        {"customer": cid.pk, "product": "web", "conducted_at": "2024-02-02T09:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.content

    by_id = {row["id"]: row for row in integrator.get("/api/v1/feedback/").json()["results"]}
    said = {
        key: (by_id[pk]["customer"], by_id[pk]["product"], by_id[pk]["received_at"])
        for key, pk in (("quote", quote.feedback_id), ("highlight", highlight.feedback_id))
    }
    assert said == {
        "quote": (ann.pk, "web", "2024-02-01T09:00:00Z"),
        "highlight": (cid.pk, "web", "2024-02-02T09:00:00Z"),
    }


def test_bad_interview_upload_is_400(integrator):
    response = integrator.post(
        "/api/v1/interviews/",
        {
            "customer": CustomerFactory().pk,
            "conducted_at": "2025-02-01T09:00:00Z",
            "transcript_file": SimpleUploadedFile("cem.docx", b"PK\x03\x04"),
        },
        format="multipart",
    )
    assert response.status_code == 400 and "transcript_file" in response.json()["errors"]
    response = integrator.post(
        "/api/v1/interviews/", {"conducted_at": "2025-02-01T09:00:00Z"}, format="json"
    )
    assert response.status_code == 400 and "customer" in response.json()["errors"]


def test_review_sources_are_readable_with_their_status(integrator):
    source = review_sources.save_review_source(
        name="Play store", kind="json_feed", url="https://example.com/f"
    )
    rows = integrator.get("/api/v1/review-sources/").json()["results"]
    assert [(r["slug"], r["consecutive_failures"], r["polling"]) for r in rows] == [
        ("play-store", 0, False)
    ]
    assert integrator.get(f"/api/v1/review-sources/{source.pk}/").json()["name"] == "Play store"
    assert integrator.post("/api/v1/review-sources/", {}, format="json").status_code == 405


def test_scopes_limit_what_a_key_may_do():
    reader = _key(["feedback:read"])
    assert reader.get("/api/v1/focus-groups/").status_code == 200
    assert reader.get("/api/v1/interviews/").status_code == 200
    assert reader.get("/api/v1/review-sources/").status_code == 200
    response = reader.post(
        "/api/v1/focus-groups/",
        {"topic": "x", "scheduled_at": "2025-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 403
    assert APIClient().get("/api/v1/focus-groups/").status_code == 401


@pytest.mark.parametrize(
    ("actor", "read", "create", "delete"),
    [("outsider", 403, 403, 403), ("staff_member", 200, 201, 403), ("manager", 200, 201, 204)],
)
def test_people_need_the_role(request, actor, read, create, delete):
    client = _as(request.getfixturevalue(actor))
    customer = CustomerFactory()
    assert client.get("/api/v1/interviews/").status_code == read
    assert client.get("/api/v1/focus-groups/").status_code == read
    assert client.get("/api/v1/review-sources/").status_code == read
    response = client.post(
        "/api/v1/interviews/",
        {"customer": customer.pk, "conducted_at": "2025-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == create
    interview = interviews.save_interview(customer=customer, conducted_at="2025-01-01T00:00:00Z")
    assert client.delete(f"/api/v1/interviews/{interview.pk}/").status_code == delete


def test_endpoints_are_in_the_schema(client):
    schema = client.get("/api/v1/schema/").content.decode()
    for path in (
        "/api/v1/focus-groups/",
        "/api/v1/focus-groups/{id}/entries/",
        "/api/v1/interviews/",
        "/api/v1/interviews/{id}/highlights/",
        "/api/v1/review-sources/",
    ):
        assert path in schema
