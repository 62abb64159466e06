"""The one inbox: search, saved views, bulk triage, internal notes, customer pages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from feedback import inbox, interviews
from feedback.models import Feedback, FeedbackNote, SavedView
from feedback.search import search_feedback
from feedback.tests.factories import CustomerFactory, FeedbackFactory, UserFactory

pytestmark = pytest.mark.django_db


def texts(queryset):
    return [f.text for f in queryset]


# --- Search -------------------------------------------------------------------------------


def test_full_text_search_finds_stemmed_words_ranked(postgres_required):
    FeedbackFactory(text="The app crashes whenever I upload a photo")
    FeedbackFactory(text="Crashed, crashed and crashed again. Crashes daily.")
    FeedbackFactory(text="Lovely design")
    FeedbackFactory(text="Payment failed")

    found = texts(search_feedback(Feedback.objects.all(), "crashing"))
    # Stemmed ("crashing" → crash), and the text saying it most often ranks first.
    assert found == [
        "Crashed, crashed and crashed again. Crashes daily.",
        "The app crashes whenever I upload a photo",
    ]
    # websearch syntax: a phrase, and a word excluded.
    assert texts(search_feedback(Feedback.objects.all(), '"upload a photo"')) == [
        "The app crashes whenever I upload a photo"
    ]
    assert texts(search_feedback(Feedback.objects.all(), "crash -photo")) == [
        "Crashed, crashed and crashed again. Crashes daily."
    ]
    # Prefixes while typing, and punctuation that would break a raw tsquery.
    assert texts(search_feedback(Feedback.objects.all(), "paym")) == ["Payment failed"]
    assert texts(search_feedback(Feedback.objects.all(), "pay & ment | !(")) == []


def test_full_text_search_uses_the_gin_index(postgres_required):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'feedback_text_search'")
        (definition,) = cursor.fetchone()
    assert "gin" in definition and "to_tsvector('english'" in definition
    # A small pending list: the request whose row fills it merges it, so keep that short.
    assert "gin_pending_list_limit='1024'" in definition
    queryset = search_feedback(Feedback.objects.all(), "crash", rank=False)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.only("id").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "feedback_text_search" in plan


def test_search_also_matches_customer_names():
    bea = CustomerFactory(name="Beatrix Kiddo")
    FeedbackFactory(text="No complaints", customer=bea)
    FeedbackFactory(text="Other")
    assert texts(search_feedback(Feedback.objects.all(), "kiddo")) == ["No complaints"]


def test_sqlite_fallback_matches_substrings():
    if connection.vendor == "postgresql":
        pytest.skip("the fallback is for databases without full-text search")
    FeedbackFactory(text="The app crashes on login")
    FeedbackFactory(text="Great")
    assert texts(search_feedback(Feedback.objects.all(), "CRASH")) == ["The app crashes on login"]


def test_inbox_channel_filter_covers_every_channel(client, staff_member):
    for channel in Feedback.Channel.values:
        FeedbackFactory(channel=channel, text=f"via {channel}")
    client.force_login(staff_member)
    for channel in Feedback.Channel.values:
        response = client.get(reverse("feedback:inbox"), {"channel": channel})
        assert [f.text for f in response.context["page"].object_list] == [f"via {channel}"]


# --- Bulk actions --------------------------------------------------------------------------


def test_bulk_sets_status_assignee_and_adds_a_tag(staff_member, manager):
    rows = [FeedbackFactory() for _ in range(3)]
    untouched = FeedbackFactory()
    inbox_rows = rows[:2]
    inbox_rows[0].tags.create(name="billing")

    count = inbox.bulk_update_triage(
        user=staff_member,
        feedback_ids=[r.pk for r in inbox_rows],
        status="triaged",
        assignee=manager,
        add_tags=["Mobile App"],
    )

    assert count == 2
    for row in inbox_rows:
        row.refresh_from_db()
        assert (row.status, row.assignee) == ("triaged", manager)
    assert sorted(inbox_rows[0].tags.values_list("name", flat=True)) == ["billing", "mobile-app"]
    assert list(inbox_rows[1].tags.values_list("name", flat=True)) == ["mobile-app"]
    untouched.refresh_from_db()
    assert (untouched.status, untouched.assignee) == ("new", None)


def test_bulk_is_all_or_nothing(staff_member, outsider):
    rows = [FeedbackFactory() for _ in range(2)]
    ids = [r.pk for r in rows]
    with pytest.raises(ValidationError) as error:
        inbox.bulk_update_triage(
            user=staff_member, feedback_ids=ids, status="triaged", assignee=outsider
        )
    assert "assignee" in error.value.message_dict
    with pytest.raises(ValidationError):
        inbox.bulk_update_triage(user=staff_member, feedback_ids=[*ids, 999999], status="closed")
    with pytest.raises(ValidationError):
        inbox.bulk_update_triage(user=staff_member, feedback_ids=[], status="closed")
    with pytest.raises(ValidationError):
        inbox.bulk_update_triage(user=staff_member, feedback_ids=ids)
    with pytest.raises(PermissionDenied):
        inbox.bulk_update_triage(user=outsider, feedback_ids=ids, status="closed")
    assert set(Feedback.objects.values_list("status", flat=True)) == {"new"}


def test_bulk_form_in_the_inbox_reports_the_count(client, staff_member):
    rows = [FeedbackFactory() for _ in range(3)]
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:inbox_bulk"),
        {
            "ids": [rows[0].pk, rows[2].pk],
            "status": "closed",
            "assignee": "-",
            "add_tag": "",
            "next": "/inbox/?channel=form",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/inbox/?channel=form"
    assert "2 feedback updated." in [str(m) for m in response.context["messages"]]
    assert sorted(Feedback.objects.values_list("status", flat=True)) == ["closed", "closed", "new"]
    # Nothing selected, or an open redirect attempt: a message and back to the inbox.
    response = client.post(
        reverse("feedback:inbox_bulk"), {"status": "closed", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("feedback:inbox")


@pytest.mark.parametrize("actor", ["anonymous", "outsider"])
def test_bulk_needs_triage_permission(client, request, actor):
    row = FeedbackFactory()
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    response = client.post(reverse("feedback:inbox_bulk"), {"ids": [row.pk], "status": "closed"})
    assert response.status_code == (302 if actor == "anonymous" else 403)
    row.refresh_from_db()
    assert row.status == "new"


# --- Saved views ----------------------------------------------------------------------------


def test_saved_views_belong_to_their_owner(client, staff_member, manager):
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:saved_view_create"),
        {"name": "Angry reviews", "query": "channel=review&sentiment=negative&page=3"},
    )
    assert (
        response.status_code == 302
        and response["Location"] == "/inbox/?channel=review&sentiment=negative"
    )
    view = SavedView.objects.get()
    assert (view.owner, view.query) == (staff_member, "channel=review&sentiment=negative")
    # Saving the same name again replaces its filters.
    client.post(
        reverse("feedback:saved_view_create"), {"name": "Angry reviews", "query": "channel=review"}
    )
    assert SavedView.objects.get().query == "channel=review"
    assert [v.name for v in client.get(reverse("feedback:inbox")).context["saved_views"]] == [
        "Angry reviews"
    ]

    client.force_login(manager)
    assert list(client.get(reverse("feedback:inbox")).context["saved_views"]) == []
    client.post(reverse("feedback:saved_view_delete", args=[view.pk]))
    assert SavedView.objects.filter(pk=view.pk).exists()  # not the manager's to delete

    client.force_login(staff_member)
    client.post(reverse("feedback:saved_view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_saved_view_needs_a_name():
    with pytest.raises(ValidationError):
        inbox.save_view(owner=UserFactory(), name="  ", query="channel=review")


# --- Notes ----------------------------------------------------------------------------------


def test_staff_adds_internal_notes_shown_on_the_detail_page(client, staff_member):
    feedback = FeedbackFactory()
    client.force_login(staff_member)
    url = reverse("feedback:note_add", args=[feedback.pk])
    response = client.post(url, {"text": "Called the customer <b>back</b>"})
    assert response.status_code == 302
    note = FeedbackNote.objects.get()
    assert (note.author, note.feedback) == (staff_member, feedback)
    page = client.get(reverse("feedback:detail", args=[feedback.pk]))
    assert b"Called the customer &lt;b&gt;back&lt;/b&gt;" in page.content
    assert client.post(url, {"text": "   "}).status_code == 400
    assert FeedbackNote.objects.count() == 1


@pytest.mark.parametrize("actor", ["anonymous", "outsider"])
def test_notes_need_triage_permission(client, request, actor):
    feedback = FeedbackFactory()
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    client.post(reverse("feedback:note_add", args=[feedback.pk]), {"text": "hi"})
    assert not FeedbackNote.objects.exists()


def test_notes_are_not_in_the_feedback_api(staff_member):
    from rest_framework.test import APIClient

    feedback = FeedbackFactory()
    inbox.add_note(feedback=feedback, author=staff_member, text="secret internal remark")
    api = APIClient()
    api.force_authenticate(staff_member)
    body = api.get(f"/api/v1/feedback/{feedback.pk}/").content.decode()
    assert "secret internal remark" not in body


# --- Customer pages ---------------------------------------------------------------------------


def test_customer_page_shows_everything_they_said_across_channels(client, staff_member):
    bea = CustomerFactory(name="Bea")
    FeedbackFactory(
        customer=bea, channel="review", text="Great support", sentiment_label="positive"
    )
    FeedbackFactory(customer=bea, channel="form", text="Invoice wrong")
    FeedbackFactory(text="Someone else")
    interview = interviews.save_interview(
        customer=bea,
        interviewer=staff_member,
        conducted_at="2025-01-01T10:00:00Z",
        transcript="I like it.",
    )
    interviews.add_interview_highlight(
        interview=interview, excerpt="I like it.", author=staff_member
    )
    client.force_login(staff_member)

    response = client.get(reverse("feedback:customer_detail", args=[bea.pk]))

    assert response.status_code == 200
    assert sorted(f.text for f in response.context["page"].object_list) == [
        "Great support",
        "I like it.",
        "Invoice wrong",
    ]
    assert list(response.context["interviews"]) == [interview]
    listing = client.get(reverse("feedback:customers"), {"q": "be"})
    assert [c.name for c in listing.context["page"].object_list] == ["Bea"]


def test_customer_page_lists_survey_responses_and_invitations(client, staff_member):
    from surveys.models import Invitation, Response, Survey

    bea = CustomerFactory(name="Bea")
    survey = Survey.objects.create(title="Onboarding NPS", slug="onb-nps")
    Invitation.objects.create(
        survey=survey,
        customer=bea,
        email="bea@example.com",
        token_digest="x" * 64,
        status="answered",
    )
    Response.objects.create(survey=survey, customer=bea)
    client.force_login(staff_member)
    response = client.get(reverse("feedback:customer_detail", args=[bea.pk]))
    assert [r.survey.title for r in response.context["responses"]] == ["Onboarding NPS"]
    assert [i.get_status_display() for i in response.context["invitations"]] == ["Answered"]
    assert b"Onboarding NPS" in response.content


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("anonymous", "login"), ("outsider", 403), ("staff_member", 200), ("manager", 200)],
)
def test_customer_pages_enforce_roles(client, request, actor, expected):
    customer = CustomerFactory()
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    for url in (
        reverse("feedback:customers"),
        reverse("feedback:customer_detail", args=[customer.pk]),
    ):
        response = client.get(url)
        if expected == "login":
            assert response.status_code == 302 and "/login/" in response["Location"]
        else:
            assert response.status_code == expected


def test_customer_page_query_count_is_bounded(client, staff_member, django_assert_max_num_queries):
    bea = CustomerFactory()
    for n in range(30):
        FeedbackFactory(customer=bea, text=f"row {n}")
    client.force_login(staff_member)
    with django_assert_max_num_queries(21):
        response = client.get(reverse("feedback:customer_detail", args=[bea.pk]))
    assert len(response.context["page"].object_list) == 25


def test_feedback_page_links_back_to_its_focus_group(client, staff_member):
    from feedback import focus_groups

    group = focus_groups.save_focus_group(
        topic="Pricing", scheduled_at="2025-01-01T10:00:00Z", moderator=staff_member
    )
    entry = focus_groups.add_focus_group_entry(
        focus_group=group, text="Too pricey", author=staff_member
    )
    client.force_login(staff_member)
    page = client.get(reverse("feedback:detail", args=[entry.feedback_id]))
    assert page.context["origin"] == (
        "Focus group: Pricing",
        reverse("feedback:focus_group_detail", args=[group.pk]),
    )
    assert (
        client.get(reverse("feedback:detail", args=[FeedbackFactory().pk])).context["origin"]
        is None
    )


def test_admin_lists_the_new_models_read_only(client, admin_user, staff_member):
    from feedback import focus_groups, review_sources

    group = focus_groups.save_focus_group(
        topic="Pricing", scheduled_at="2025-01-01T10:00:00Z", moderator=staff_member
    )
    focus_groups.add_focus_group_entry(focus_group=group, text="Too pricey", author=staff_member)
    review_sources.save_review_source(name="Feed", kind="rss_atom", url="https://example.com/rss")
    client.force_login(admin_user)
    for name in ("focusgroup", "interview", "reviewsource"):
        assert client.get(reverse(f"admin:feedback_{name}_changelist")).status_code == 200
    assert client.get(reverse("admin:feedback_focusgroup_add")).status_code == 403
    response = client.post(
        reverse("admin:feedback_focusgroup_delete", args=[group.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Feedback.objects.exists()


def test_inbox_segment_filter_shows_exactly_the_members_feedback(client, staff_member):
    from customization.models import Segment

    member, other = CustomerFactory(), CustomerFactory()
    segment = Segment.objects.create(name="Key accounts")
    segment.customers.add(member)
    mine = FeedbackFactory.create_batch(2, customer=member)
    FeedbackFactory(customer=other)
    FeedbackFactory(customer=None)
    client.force_login(staff_member)
    response = client.get(reverse("feedback:inbox"), {"segment": segment.pk})
    assert response.status_code == 200
    page = response.context["page"]
    assert {f.pk for f in page.object_list} == {f.pk for f in mine}
    assert page.paginator.count == 2
