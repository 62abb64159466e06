"""The roadmap: lanes and order, shipping, the changelog and the public roadmap."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory
from innovation import roadmap, services
from innovation.models import Idea, IdeaStatusChange

from .roadmap_data import idea, place, shipped

pytestmark = pytest.mark.django_db


def _lane(name, product=None):
    lanes = {lane.value: lane for lane in roadmap.roadmap_lanes(product=product)}
    return [i.title for i in lanes[name].ideas]


@pytest.fixture
def board(manager):
    """Now: A, B, C. Next: D."""
    rows = {}
    for position, title in enumerate("ABC"):
        rows[title] = place(idea(manager, title=title), "now", position)
    rows["D"] = place(idea(manager, title="D"), "next", 0)
    return rows


# --- Services -------------------------------------------------------------------------------


def test_placing_a_new_idea_plans_it_and_puts_it_at_the_end(manager, board):
    fresh = idea(manager, title="E")
    assert fresh.status == Idea.Status.NEW

    roadmap.move_idea(idea=fresh, lane="later", by=manager)

    fresh.refresh_from_db()
    assert fresh.lane == "later" and fresh.lane_position == 0
    assert fresh.status == Idea.Status.PLANNED
    change = IdeaStatusChange.objects.filter(idea=fresh).last()
    assert change.to_status == "planned" and change.changed_by == manager
    assert "roadmap (Later)" in change.note


def test_moving_between_lanes_renumbers_both(manager, board):
    roadmap.move_idea(idea=board["B"], lane="next", by=manager, position=0)

    assert _lane("now") == ["A", "C"] and _lane("next") == ["B", "D"]
    positions = dict(
        Idea.objects.filter(lane__in=["now", "next"]).values_list("title", "lane_position")
    )
    assert positions == {"A": 0, "C": 1, "B": 0, "D": 1}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"position": 0}, ["C", "A", "B"]),
        ({"position": 1}, ["A", "C", "B"]),
        ({"position": 99}, ["A", "B", "C"]),
        ({"before": "A"}, ["C", "A", "B"]),
        ({"after": "A"}, ["A", "C", "B"]),
        ({}, ["A", "B", "C"]),
    ],
)
def test_reordering_within_a_lane(manager, board, kwargs, expected):
    kwargs = {k: board[v].pk if k in ("before", "after") else v for k, v in kwargs.items()}
    roadmap.move_idea(idea=board["C"], lane="now", by=manager, **kwargs)
    assert _lane("now") == expected


def test_an_idea_already_planned_keeps_its_status(manager, board):
    services.change_idea_status(idea=board["A"], to_status="in_progress", by=manager)
    roadmap.move_idea(idea=board["A"], lane="later", by=manager)
    board["A"].refresh_from_db()
    assert board["A"].status == Idea.Status.IN_PROGRESS


def test_taking_an_idea_off_the_roadmap(manager, board):
    roadmap.move_idea(idea=board["A"], lane="", by=manager)
    assert _lane("now") == ["B", "C"]
    assert [i.title for i in roadmap.unplaced_ideas()] == ["A"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lane": "someday"}, "Unknown lane"),
        ({"lane": "now", "position": -1}, "negative"),
        ({"lane": "next", "before": "A"}, "not in this lane"),
        ({"lane": "now", "position": 0, "after": "A"}, "not both"),
    ],
)
def test_bad_moves_are_refused(manager, board, kwargs, message):
    kwargs = {k: board[v].pk if k in ("before", "after") else v for k, v in kwargs.items()}
    with pytest.raises(ValidationError, match=message):
        roadmap.move_idea(idea=board["C"], by=manager, **kwargs)
    assert _lane("now") == ["A", "B", "C"]


def test_shipped_declined_and_merged_ideas_cannot_be_moved(manager, board):
    shipped(board["A"], days_ago=1)
    services.change_idea_status(idea=board["B"], to_status="declined", by=manager)
    services.merge_ideas(source=board["C"], target=board["D"], by=manager)
    for title in "ABC":
        board[title].refresh_from_db()
        with pytest.raises(ValidationError):
            roadmap.move_idea(idea=board[title], lane="later", by=manager)
    assert _lane("now") == []


def test_a_declined_idea_leaves_the_roadmap_and_does_not_come_back_when_reopened(manager, board):
    Idea.objects.filter(pk=board["A"].pk).update(public=True)
    services.change_idea_status(idea=board["A"], to_status="declined", by=manager)
    services.change_idea_status(idea=board["A"], to_status="under_review", by=manager)

    assert _lane("now") == ["B", "C"]
    assert "A" in [i.title for i in roadmap.unplaced_ideas()]
    assert all(lane.ideas == [] for lane in roadmap.public_lanes())
    board["A"].refresh_from_db()
    assert (board["A"].lane, board["A"].lane_position) == ("", 0)


def test_shipping_saves_the_note_and_walks_the_statuses(manager, board):
    result = roadmap.ship_idea(
        idea=board["A"], release_note="  One page now. ", by=manager, public=True
    )

    assert result.status == Idea.Status.SHIPPED and result.release_note == "One page now."
    assert result.public is True and result.shipped_at is not None
    assert result.impact_check_due is not None
    steps = list(IdeaStatusChange.objects.filter(idea=result).values_list("to_status", flat=True))
    assert steps[-2:] == ["in_progress", "shipped"]
    assert _lane("now") == ["B", "C"]


def test_shipping_needs_a_release_note(manager, board):
    with pytest.raises(ValidationError, match="what changed"):
        roadmap.ship_idea(idea=board["A"], release_note="   ", by=manager)
    board["A"].refresh_from_db()
    assert board["A"].status == Idea.Status.PLANNED


def test_changelog_groups_shipped_ideas_by_month(manager):
    for title, when in (("June", dt.datetime(2026, 6, 3, tzinfo=dt.UTC)),
                        ("May 2", dt.datetime(2026, 5, 30, tzinfo=dt.UTC)),
                        ("May 1", dt.datetime(2026, 5, 2, tzinfo=dt.UTC))):  # fmt: skip
        row = idea(manager, title=title)
        Idea.objects.filter(pk=row.pk).update(status="shipped", shipped_at=when)
    idea(manager, title="Still open")

    months = roadmap.by_month(roadmap.changelog())

    assert [(m.isoformat(), [i.title for i in ideas]) for m, ideas in months] == [
        ("2026-06-01", ["June"]),
        ("2026-05-01", ["May 2", "May 1"]),
    ]


def test_product_filter(manager):
    app = ProductFactory(name="App", slug="app")
    place(idea(manager, title="Mobile", product=app), "now", 0)
    place(idea(manager, title="Web"), "now", 1)
    assert _lane("now", product=app) == ["Mobile"]
    assert _lane("now") == ["Mobile", "Web"]


# --- Pages, per role ------------------------------------------------------------------------

ROADMAP = reverse("innovation:roadmap")
CHANGELOG = reverse("innovation:changelog")


def _pages(board):
    pk = board["A"].pk
    return {
        "get": [ROADMAP, CHANGELOG, reverse("innovation:roadmap_item", args=[pk])],
        "post": [
            reverse("innovation:roadmap_move", args=[pk]),
            reverse("innovation:roadmap_ship", args=[pk]),
            reverse("innovation:roadmap_public", args=[pk]),
        ],
    }


def test_anonymous_visitors_are_sent_to_log_in(client, board):
    pages = _pages(board)
    for url in pages["get"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    for url in pages["post"]:
        response = client.post(url, {"lane": "later", "release_note": "x"})
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_outsiders_get_403_everywhere(client, outsider, board):
    client.force_login(outsider)
    pages = _pages(board)
    assert all(client.get(url).status_code == 403 for url in pages["get"])
    assert all(client.post(url, {"lane": "later"}).status_code == 403 for url in pages["post"])


def test_staff_see_the_roadmap_but_cannot_change_it(client, staff_member, board):
    client.force_login(staff_member)
    pages = _pages(board)
    for url in pages["get"]:
        response = client.get(url)
        assert response.status_code == 200
        assert b"roadmap_move" not in response.content and b"/move/" not in response.content
    for url in pages["post"]:
        assert client.post(url, {"lane": "later", "release_note": "x"}).status_code == 403
    assert _lane("now") == ["A", "B", "C"]


def test_manager_moves_with_a_plain_form(client, manager, board):
    client.force_login(manager)
    response = client.post(
        reverse("innovation:roadmap_move", args=[board["C"].pk]),
        {"lane": "now", "before": board["A"].pk},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{ROADMAP}#idea-{board['C'].pk}"
    assert _lane("now") == ["C", "A", "B"]


def test_manager_moves_with_fetch_and_gets_the_board_back(client, manager, board):
    client.force_login(manager)
    app = ProductFactory(name="App", slug="app")
    response = client.post(
        reverse("innovation:roadmap_move", args=[board["A"].pk]),
        {"lane": "later", "product": "app"},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["message"] == "“A” is now in Later, position 1."
    # The board comes back filtered like the page it came from (A has no product).
    assert 'id="roadmap-product" value="app"' in payload["board"]
    assert 'id="idea-' not in payload["board"].split("Not on the roadmap")[0]
    assert app.pk and _lane("later") == ["A"]


def test_a_bad_move_answers_400_json_or_a_message(client, manager, board):
    client.force_login(manager)
    url = reverse("innovation:roadmap_move", args=[board["A"].pk])
    response = client.post(url, {"lane": "soon"}, headers={"accept": "application/json"})
    assert response.status_code == 400 and "lane" in response.json()["errors"]
    response = client.post(url, {"lane": "next", "before": board["B"].pk}, follow=True)
    assert response.status_code == 200 and "not in this lane" in response.content.decode()
    assert client.post(reverse("innovation:roadmap_move", args=[999_999])).status_code == 404


def test_roadmap_page_shows_the_lanes_escaped(client, manager):
    place(idea(manager, title="<script>x</script> Dark mode"), "next", 0)
    client.force_login(manager)
    body = client.get(ROADMAP).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; Dark mode" in body and "<script>x" not in body
    assert "js/roadmap.js" in body


def test_bad_product_filter_is_400(client, staff_member):
    client.force_login(staff_member)
    assert client.get(ROADMAP, {"product": "nope"}).status_code == 400
    assert client.get(CHANGELOG, {"product": "nope"}).status_code == 400


def test_manager_ships_from_the_item_page(client, manager, board):
    client.force_login(manager)
    url = reverse("innovation:roadmap_ship", args=[board["A"].pk])

    response = client.post(url, {"release_note": ""})
    assert response.status_code == 400 and "This field is required" in response.content.decode()

    response = client.post(url, {"release_note": "One page checkout", "public": "on"})
    assert response.status_code == 302
    board["A"].refresh_from_db()
    assert board["A"].status == "shipped" and board["A"].public

    response = client.post(url, {"release_note": "again"})
    assert response.status_code == 400 and "no longer on the roadmap" in response.content.decode()


def test_manager_toggles_public(client, manager, board):
    client.force_login(manager)
    url = reverse("innovation:roadmap_public", args=[board["A"].pk])
    client.post(url, {"public": "on"})
    board["A"].refresh_from_db()
    assert board["A"].public is True
    client.post(url, {})
    board["A"].refresh_from_db()
    assert board["A"].public is False


def _checked(row, *, after_share=0.1, after_sentiment=0.2):
    """Write an "improved" impact check on a shipped idea, as the daily task would."""
    Idea.objects.filter(pk=row.pk).update(
        impact_result="improved",
        impact_checked_at=timezone.now(),
        impact_details={
            "result": "improved", "alpha": 0.05,
            "windows": {"before": ["2026-01-01", "2026-02-10"], "after": ["2026-02-12", "2026-03-24"]},
            "before": {"volume_per_week": 30.0, "negative_share": 0.6, "average_sentiment": -0.3, "volume": 171, "days": 41},
            "after": {"volume_per_week": 10.0, "negative_share": after_share, "average_sentiment": after_sentiment, "volume": 57, "days": 41},
            "tests": {"negative_share": {"tested": True, "significant": True, "better": True, "adjusted_p_value": 0.0001}},
        },
    )  # fmt: skip
    return row


def test_item_page_shows_the_impact_check(client, staff_member, manager):
    row = shipped(
        idea(manager, title="Faster search"), days_ago=60, release_note="Search is 3× faster."
    )
    _checked(row)
    client.force_login(staff_member)
    body = client.get(reverse("innovation:roadmap_item", args=[row.pk])).content.decode()
    assert "Impact check" in body and "Improved" in body and "yes, better" in body
    assert "Search is 3× faster." in body
    body = client.get(CHANGELOG).content.decode()
    assert "Faster search" in body and "Improved" in body


def test_impact_table_shows_a_share_or_sentiment_of_zero_as_zero(client, staff_member, manager):
    row = shipped(idea(manager, title="Calm checkout"), days_ago=60, release_note="Calmer.")
    _checked(row, after_share=0.0, after_sentiment=0.0)
    client.force_login(staff_member)
    body = client.get(reverse("innovation:roadmap_item", args=[row.pk])).content.decode()
    cells = " ".join(body.split())
    share = '<th scope="row">Negative share</th><td class="num">0.6</td><td class="num">0.0</td>'
    sentiment = (
        '<th scope="row">Average sentiment</th><td class="num">-0.3</td><td class="num">0.0</td>'
    )
    assert share in cells and sentiment in cells


def test_changelog_does_not_promise_an_impact_check_an_idea_without_theme_never_gets(
    client, staff_member, manager
):
    from .roadmap_data import theme

    shipped(idea(manager, title="Themeless"), days_ago=3)
    shipped(idea(manager, title="Themed", theme=theme()), days_ago=3)
    client.force_login(staff_member)
    body = " ".join(client.get(CHANGELOG).content.decode().split())
    themeless = body[body.index("Themeless") :]
    assert "Impact: not checked (no theme to compare)" in themeless[: themeless.index("</p>")]
    themed = body[body.index("Themed") :]
    assert "Impact: due " in themed[: themed.index("</p>")]


def test_list_pages_have_bounded_queries(client, manager, django_assert_max_num_queries):
    for n in range(15):
        row = place(
            idea(manager, title=f"Idea {n}", product=ProductFactory()),
            ["now", "next", "later"][n % 3],
            n,
        )
        if n % 4 == 0:
            shipped(row, days_ago=n)
    for n in range(10):
        idea(manager, title=f"Unplaced {n}")
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert client.get(ROADMAP).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(CHANGELOG).status_code == 200
    with django_assert_max_num_queries(14):
        response = client.post(
            reverse("innovation:roadmap_move", args=[Idea.objects.filter(lane="now", status="planned").first().pk]),
            {"lane": "later"}, headers={"accept": "application/json"},
        )  # fmt: skip
        assert response.status_code == 200


# --- Public roadmap ---------------------------------------------------------------------------

PUBLIC = "/roadmap/public/"


def test_public_roadmap_is_404_when_disabled(client, settings, manager):
    settings.PUBLIC_ROADMAP_ENABLED = False
    place(idea(manager, title="Dark mode"), "now", 0)
    assert reverse("innovation:public_roadmap") == PUBLIC
    assert client.get(PUBLIC).status_code == 404


def test_public_roadmap_shows_only_public_ideas_without_customer_data(client, settings, manager):
    settings.PUBLIC_ROADMAP_ENABLED = True
    customer = CustomerFactory(name="Secret Customer", email="secret@example.com")
    feedback = FeedbackFactory(customer=customer, text="private words")
    public = place(idea(manager, title="<b>Dark</b> mode", feedback_ids=[feedback.pk],
                        problem="Internal problem statement"), "now", 0)  # fmt: skip
    Idea.objects.filter(pk=public.pk).update(public=True)
    place(idea(manager, title="Hidden plan"), "next", 0)
    done = shipped(idea(manager, title="Export"), days_ago=3, public=True,
                   release_note="Export to CSV is here.")  # fmt: skip
    shipped(idea(manager, title="Secret ship"), days_ago=3, release_note="not public")

    response = client.get(PUBLIC)

    assert response.status_code == 200
    body = response.content.decode()
    assert "&lt;b&gt;Dark&lt;/b&gt; mode" in body and "<b>Dark</b>" not in body
    assert "Export to CSV is here." in body and done.title in body
    for secret in ("Hidden plan", "Secret ship", "not public", "Secret Customer",
                   "secret@example.com", "private words", "Internal problem statement"):  # fmt: skip
        assert secret not in body


def test_public_roadmap_queries_are_bounded(
    client, settings, manager, django_assert_max_num_queries
):
    settings.PUBLIC_ROADMAP_ENABLED = True
    for n in range(10):
        row = place(idea(manager, title=f"Idea {n}"), "later", n)
        Idea.objects.filter(pk=row.pk).update(public=True)
    with django_assert_max_num_queries(3):
        assert client.get(PUBLIC).status_code == 200
