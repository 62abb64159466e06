"""Roadmap, changelog and suggestion endpoints: scopes, roles, errors, query counts."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback.tests.factories import CustomerFactory, ProductFactory
from innovation import suggestions
from innovation.models import Idea, IdeaSuggestion

from .roadmap_data import TODAY, day_stat, idea, place, shipped, theme, themed_feedback

pytestmark = pytest.mark.django_db

ROADMAP = "/api/v1/roadmap/"
CHANGELOG = "/api/v1/changelog/"
SUGGESTIONS = "/api/v1/idea-suggestions/"


def _move_url(pk):
    return f"/api/v1/roadmap/ideas/{pk}/move/"


def _key(*scopes):
    _, raw = create_api_key(name="pm-tool", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _person(user):
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def board(manager):
    app = ProductFactory(name="App", slug="app")
    return {
        "A": place(idea(manager, title="A", product=app), "now", 0),
        "B": place(idea(manager, title="B"), "now", 1),
        "C": place(idea(manager, title="C"), "later", 0),
    }


@pytest.fixture
def pending(db):
    row = theme("Checkout errors")
    day_stat(row, TODAY - dt.timedelta(days=1), count=30, negative=25)
    themed_feedback(row, n=2, customer=CustomerFactory())
    suggestions.suggest_ideas()
    return IdeaSuggestion.objects.get()


def test_roadmap_lists_lanes_in_order_and_filters_by_product(board):
    client = _key("backlog:read")

    data = client.get(ROADMAP).json()

    assert [lane["lane"] for lane in data["lanes"]] == ["now", "next", "later"]
    assert [i["title"] for i in data["lanes"][0]["ideas"]] == ["A", "B"]
    assert data["lanes"][0]["ideas"][0]["product"] == "app"
    filtered = client.get(ROADMAP, {"product": "app"}).json()
    assert [i["title"] for lane in filtered["lanes"] for i in lane["ideas"]] == ["A"]
    response = client.get(ROADMAP, {"product": "nope"})
    assert response.status_code == 400 and "product" in response.json()["errors"]


def test_move_needs_the_write_scope(board):
    assert _key("backlog:read").post(_move_url(board["C"].pk), {"lane": "now"}).status_code == 403
    response = _key("backlog:write").post(
        _move_url(board["C"].pk), {"lane": "now", "position": 0}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["lane"] == "now" and response.json()["position"] == 0
    assert list(
        Idea.objects.filter(lane="now").order_by("lane_position").values_list("title", flat=True)
    ) == ["C", "A", "B"]


def test_move_errors_are_400_with_field_messages(board):
    client = _key("backlog:write")
    response = client.post(_move_url(board["A"].pk), {"lane": "soon"}, format="json")
    assert response.status_code == 400 and "lane" in response.json()["errors"]
    response = client.post(
        _move_url(board["A"].pk), {"lane": "later", "before": board["B"].pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["before"] == ["That idea is not in this lane."]
    shipped(board["B"], days_ago=1)
    response = client.post(_move_url(board["B"].pk), {"lane": "later"}, format="json")
    assert response.status_code == 400 and "no longer on the roadmap" in str(response.json())
    assert client.post(_move_url(999_999), {"lane": "now"}, format="json").status_code == 404


def test_changelog_lists_shipped_ideas_newest_first(board, manager):
    shipped(board["A"], days_ago=10, release_note="A is out")
    shipped(board["B"], days_ago=2, release_note="B is out")

    data = _key("backlog:read").get(CHANGELOG).json()

    assert [row["title"] for row in data["results"]] == ["B", "A"]
    assert data["results"][0]["release_note"] == "B is out"
    assert data["results"][0]["customers_told"] == 0
    assert data["results"][0]["impact_check_due"] is not None


def test_suggestions_list_accept_and_dismiss(pending, manager):
    client = _key("backlog:read", "backlog:write")
    data = client.get(SUGGESTIONS).json()
    assert [row["id"] for row in data["results"]] == [pending.pk]
    assert data["results"][0]["numbers"]["volume"] == 30
    assert client.get(SUGGESTIONS, {"status": "bogus"}).status_code == 400

    response = client.post(
        f"{SUGGESTIONS}{pending.pk}/accept/", {"title": "Fix card declines"}, format="json"
    )
    assert response.status_code == 201
    created = Idea.objects.get(pk=response.json()["idea"])
    assert created.title == "Fix card declines" and created.origin == "suggested"
    assert created.evidence.count() == 2

    again = client.post(f"{SUGGESTIONS}{pending.pk}/dismiss/")
    assert again.status_code == 400 and "already accepted" in str(again.json())
    assert client.get(SUGGESTIONS).json()["results"] == []
    assert client.get(SUGGESTIONS, {"status": "accepted"}).json()["count"] == 1


def test_dismiss_remembers_the_volume(pending):
    response = _key("backlog:write").post(f"{SUGGESTIONS}{pending.pk}/dismiss/")
    assert response.status_code == 200
    assert response.json()["status"] == "dismissed" and response.json()["dismissed_volume"] == 30


def test_accept_with_an_unknown_product_is_400(pending):
    response = _key("backlog:write").post(
        f"{SUGGESTIONS}{pending.pk}/accept/", {"product": "nope"}, format="json"
    )
    assert response.status_code == 400 and "product" in response.json()["errors"]
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_without_credentials_everything_is_401(board, pending):
    anonymous = APIClient()
    for url in (ROADMAP, CHANGELOG, SUGGESTIONS):
        assert anonymous.get(url).status_code in (401, 403)
    assert anonymous.post(_move_url(board["A"].pk), {"lane": "now"}).status_code in (401, 403)
    assert anonymous.post(f"{SUGGESTIONS}{pending.pk}/dismiss/").status_code in (401, 403)


def test_a_key_without_backlog_scopes_is_403(board):
    client = _key("feedback:read")
    assert client.get(ROADMAP).status_code == 403
    assert client.get(CHANGELOG).status_code == 403


def test_people_by_role(board, pending, outsider, staff_member, manager):
    outsider_client, staff, boss = _person(outsider), _person(staff_member), _person(manager)
    for url in (ROADMAP, CHANGELOG, SUGGESTIONS):
        assert outsider_client.get(url).status_code == 403
    assert staff.get(ROADMAP).status_code == 200 and staff.get(CHANGELOG).status_code == 200
    assert staff.get(SUGGESTIONS).status_code == 403
    assert staff.post(_move_url(board["A"].pk), {"lane": "later"}).status_code == 403
    assert staff.post(f"{SUGGESTIONS}{pending.pk}/dismiss/").status_code == 403
    assert boss.get(SUGGESTIONS).status_code == 200
    assert boss.post(_move_url(board["A"].pk), {"lane": "later"}, format="json").status_code == 200
    board["A"].refresh_from_db()
    assert board["A"].lane == "later"


def test_list_endpoints_have_bounded_queries(manager, django_assert_max_num_queries):
    for n in range(12):
        row = place(idea(manager, title=f"I{n}", product=ProductFactory()), "next", n)
        if n % 2:
            shipped(row, days_ago=n)
        topic = theme(f"Theme {n}")
        day_stat(topic, TODAY - dt.timedelta(days=3), count=30, negative=25)
    suggestions.suggest_ideas()
    client = _key("backlog:read")
    for url, limit in ((ROADMAP, 4), (CHANGELOG, 5), (SUGGESTIONS, 5)):
        with django_assert_max_num_queries(limit):
            assert client.get(url).status_code == 200
