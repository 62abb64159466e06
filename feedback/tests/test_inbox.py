"""The one inbox: search, saved views, bulk triage, internal notes, customer pages."""

import datetime as dt

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


def test_a_search_of_stop_words_only_finds_the_text_that_contains_it(postgres_required):
    FeedbackFactory(text="I can't log in since the update")
    FeedbackFactory(text="Logging in works")

    # "can't" is stop words only to full-text search, which would match nothing.
    assert texts(search_feedback(Feedback.objects.all(), "can't")) == [
        "I can't log in since the update"
    ]
    assert texts(search_feedback(Feedback.objects.all(), "logging")) == [
        "Logging in works",
        "I can't log in since the update",
    ]


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


def test_inbox_tag_filter_finds_a_tag_written_as_it_was_added(client, staff_member):
    billing = FeedbackFactory(text="Charged twice")
    FeedbackFactory(text="Fine")
    inbox.bulk_update_triage(
        user=staff_member, feedback_ids=[billing.pk], add_tags=["Billing issue"]
    )
    client.force_login(staff_member)

    for typed in ("Billing issue", "billing-issue"):
        response = client.get(reverse("feedback:inbox"), {"tag": typed})
        assert texts(response.context["page"].object_list) == ["Charged twice"]
    response = client.get(reverse("feedback:inbox"), {"tag": "!!"})
    assert texts(response.context["page"].object_list) == []


def test_inbox_dates_are_utc_days_as_on_the_dashboard_whatever_the_time_zone(
    client, staff_member, settings
):
    settings.TIME_ZONE = "Europe/Berlin"
    FeedbackFactory(
        text="late on the 28th", received_at=dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)
    )
    FeedbackFactory(
        text="early on the 29th", received_at=dt.datetime(2026, 11, 29, 0, 30, tzinfo=dt.UTC)
    )
    client.force_login(staff_member)

    response = client.get(
        reverse("feedback:inbox"), {"received_from": "2026-11-28", "received_to": "2026-11-29"}
    )

    assert texts(response.context["page"].object_list) == ["late on the 28th"]
    later = client.get(reverse("feedback:inbox"), {"received_from": "2026-11-29T01:00+01:00"})
    assert texts(later.context["page"].object_list) == ["early on the 29th"]


HUGE_ID = "99999999999999999999999"


@pytest.mark.parametrize("name", ["customer", "theme", "segment"])
@pytest.mark.parametrize("value", [HUGE_ID, "0", "1.5"])
def test_inbox_id_filter_out_of_range_is_a_field_error_and_ignored(
    client, staff_member, name, value
):
    FeedbackFactory(text="still listed")
    client.force_login(staff_member)
    response = client.get(reverse("feedback:inbox"), {name: value})
    assert response.status_code == 200
    assert response.context["filter"].errors[name] == ["Enter a valid id."]
    assert texts(response.context["page"].object_list) == ["still listed"]
    assert "Enter a valid id." in response.content.decode()


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


def test_bulk_form_refuses_a_tag_without_a_letter_or_digit_and_changes_nothing(
    client, staff_member
):
    row = FeedbackFactory()
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:inbox_bulk"),
        {"ids": [row.pk], "status": "closed", "add_tag": "!!!"},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Add tag: A tag needs a letter (a–z) or a digit."
    ]
    row.refresh_from_db()
    assert (row.status, row.tags.count()) == ("new", 0)


@pytest.mark.parametrize("value", [HUGE_ID, "0"])
def test_bulk_form_refuses_an_id_out_of_range_with_a_message(client, staff_member, value):
    row = FeedbackFactory()
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:inbox_bulk"), {"ids": [row.pk, value], "status": "closed"}, follow=True
    )
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        f"Selected feedback: Select a valid choice. {value} is not one of the available choices."
    ]
    row.refresh_from_db()
    assert row.status == "new"


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


def test_the_saved_view_shown_is_marked_also_after_the_filter_form_is_sent(client, staff_member):
    client.force_login(staff_member)
    client.post(
        reverse("feedback:saved_view_create"), {"name": "Reviews", "query": "channel=review"}
    )
    current = '<a href="/inbox/?channel=review" aria-current="page">Reviews</a>'

    # The filter form sends every field, the empty ones too.
    sent = client.get("/inbox/?q=&channel=review&status=&sentiment=&page=2").content.decode()
    assert current in sent
    assert '<a href="/inbox/" aria-current="page">All feedback</a>' not in sent
    everything = client.get("/inbox/?q=&channel=&status=").content.decode()
    assert '<a href="/inbox/" aria-current="page">All feedback</a>' in everything
    assert current not in everything


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


def test_customer_search_with_a_nul_character_lists_matches_instead_of_failing(
    client, staff_member
):
    CustomerFactory(name="Bea")
    client.force_login(staff_member)

    response = client.get(reverse("feedback:customers"), {"q": "B\x00ea"})

    assert response.status_code == 200
    assert [c.name for c in response.context["page"].object_list] == ["Bea"]


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


# --- Notes: edited and deleted by their author (and admins) -----------------------------------


def note_urls(note):
    args = [note.feedback_id, note.pk]
    return reverse("feedback:note_edit", args=args), reverse("feedback:note_delete", args=args)


@pytest.fixture
def sams_note(staff_member):
    return inbox.add_note(feedback=FeedbackFactory(), author=staff_member, text="Called back")


def test_author_edits_a_note_and_the_edit_time_is_shown(client, staff_member, sams_note):
    edit_url, _ = note_urls(sams_note)
    client.force_login(staff_member)
    response = client.post(edit_url, {"text": "Called back, refund agreed"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#note-{sams_note.pk}")
    sams_note.refresh_from_db()
    assert sams_note.text == "Called back, refund agreed"
    assert sams_note.edited_at is not None and sams_note.edited_at >= sams_note.created_at
    page = client.get(reverse("feedback:detail", args=[sams_note.feedback_id])).content.decode()
    assert "Called back, refund agreed" in page
    assert (
        f'<span class="note-edited">edited <time datetime="{sams_note.edited_at:%Y-%m-%d}' in page
    )
    assert "</time> by " not in page  # edited by its author: no name repeated


def test_saving_a_note_unchanged_records_no_edit(staff_member, sams_note):
    inbox.edit_note(note=sams_note, user=staff_member, text="  Called back ")
    sams_note.refresh_from_db()
    assert sams_note.edited_at is None


def test_author_deletes_a_note(client, staff_member, sams_note):
    _, delete_url = note_urls(sams_note)
    client.force_login(staff_member)
    assert client.post(delete_url).status_code == 302
    assert not FeedbackNote.objects.exists()


def test_admin_edits_and_deletes_anyones_note(client, admin_user, sams_note):
    edit_url, delete_url = note_urls(sams_note)
    client.force_login(admin_user)
    page = client.get(reverse("feedback:detail", args=[sams_note.feedback_id])).content.decode()
    assert "Edit note" in page and "Delete note" in page
    assert client.post(edit_url, {"text": "Moderated"}).status_code == 302
    sams_note.refresh_from_db()
    assert (sams_note.text, sams_note.author.username) == ("Moderated", "sam_staff")
    assert sams_note.edited_by == admin_user
    page = client.get(reverse("feedback:detail", args=[sams_note.feedback_id])).content.decode()
    assert "</time> by ada_admin</span>" in page  # the note still names its author, sam
    assert client.post(delete_url).status_code == 302
    assert not FeedbackNote.objects.exists()


@pytest.mark.parametrize("actor", ["manager", "other_staff"])
def test_other_people_cannot_edit_or_delete_a_note(client, request, actor, sams_note):
    user = (
        UserFactory(username="sue_staff", role="staff")
        if actor == "other_staff"
        else request.getfixturevalue(actor)
    )
    edit_url, delete_url = note_urls(sams_note)
    client.force_login(user)
    page = client.get(reverse("feedback:detail", args=[sams_note.feedback_id])).content.decode()
    assert "Called back" in page and "Edit note" not in page and "Delete note" not in page
    response = client.post(edit_url, {"text": "Rewritten"}, follow=True)
    assert "That note is not yours to change." in response.content.decode()
    response = client.post(delete_url, follow=True)
    assert "That note is not yours to change." in response.content.decode()
    sams_note.refresh_from_db()
    assert (sams_note.text, sams_note.edited_at) == ("Called back", None)
    with pytest.raises(PermissionDenied):
        inbox.edit_note(note=sams_note, user=user, text="Rewritten")
    with pytest.raises(PermissionDenied):
        inbox.delete_note(note=sams_note, user=user)


@pytest.mark.parametrize(("actor", "status"), [("anonymous", 302), ("outsider", 403)])
def test_note_edit_and_delete_need_the_inbox(client, request, actor, status, sams_note):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    for url in note_urls(sams_note):
        response = client.post(url, {"text": "Rewritten"})
        assert response.status_code == status
        if status == 302:
            assert response["Location"].startswith("/login/?next=")
    sams_note.refresh_from_db()
    assert sams_note.text == "Called back"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("   ", "This field is required."),
        ("x" * 5001, "Ensure this value has at most 5000 characters (it has 5001)."),
        ("bad \x00 byte", "Null characters are not allowed."),
    ],
)
def test_a_bad_note_edit_is_a_400_with_the_message(client, staff_member, sams_note, text, error):
    edit_url, _ = note_urls(sams_note)
    client.force_login(staff_member)
    response = client.post(edit_url, {"text": text})
    assert response.status_code == 400
    body = response.content.decode()
    assert error in body
    assert '<details class="note-edit" open>' in body
    sams_note.refresh_from_db()
    assert (sams_note.text, sams_note.edited_at) == ("Called back", None)


def test_a_note_is_only_reached_through_its_own_feedback(client, staff_member, sams_note):
    other = FeedbackFactory()
    client.force_login(staff_member)
    for name in ("feedback:note_edit", "feedback:note_delete"):
        assert client.post(reverse(name, args=[other.pk, sams_note.pk])).status_code == 404
        assert client.post(reverse(name, args=[sams_note.feedback_id, 999999])).status_code == 404
    assert client.get(note_urls(sams_note)[0]).status_code == 405
    assert FeedbackNote.objects.get().text == "Called back"


def test_feedback_page_queries_do_not_grow_with_notes(
    client, staff_member, manager, django_assert_max_num_queries
):
    feedback = FeedbackFactory()
    inbox.add_note(feedback=feedback, author=staff_member, text="first")
    client.force_login(staff_member)
    url = reverse("feedback:detail", args=[feedback.pk])
    client.get(url)  # the session and permission caches, as on any later visit
    with django_assert_max_num_queries(20) as one_note:
        client.get(url)
    for n in range(11):
        inbox.add_note(feedback=feedback, author=staff_member if n % 2 else manager, text=f"n{n}")
    with django_assert_max_num_queries(len(one_note.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("Edit note") == 6


# --- Saved views: shared with the team, changed only by their owner ---------------------------


def inbox_views_for(client, user):
    client.force_login(user)
    return client.get(reverse("feedback:inbox")).context["saved_views"]


def test_a_shared_view_is_listed_for_everyone_with_inbox_access(client, staff_member, manager):
    client.force_login(staff_member)
    client.post(
        reverse("feedback:saved_view_create"),
        {"name": "Angry reviews", "query": "channel=review", "shared": "on"},
    )
    inbox.save_view(owner=staff_member, name="Mine only", query="status=new")
    inbox.save_view(owner=manager, name="Manager's own", query="status=closed")
    shared = SavedView.objects.get(name="Angry reviews")
    assert shared.shared

    assert [v.name for v in inbox_views_for(client, manager)] == [
        "Manager's own",
        "Angry reviews",
    ]
    page = client.get(reverse("feedback:inbox")).content.decode()
    assert "shared by sam_staff" in page
    assert f'action="{reverse("feedback:saved_view_edit", args=[shared.pk])}"' not in page
    assert f'action="{reverse("feedback:saved_view_delete", args=[shared.pk])}"' not in page
    other_staff = UserFactory(username="sue_staff", role="staff")
    assert [v.name for v in inbox_views_for(client, other_staff)] == ["Angry reviews"]
    # The owner sees theirs first, with the controls.
    assert [v.name for v in inbox_views_for(client, staff_member)] == [
        "Angry reviews",
        "Mine only",
    ]
    page = client.get(reverse("feedback:inbox")).content.decode()
    assert f'action="{reverse("feedback:saved_view_edit", args=[shared.pk])}"' in page


def test_owner_shares_renames_and_unshares_a_view(client, staff_member, manager):
    view = inbox.save_view(owner=staff_member, name="Angry", query="sentiment=negative")
    url = reverse("feedback:saved_view_edit", args=[view.pk])
    client.force_login(staff_member)
    assert client.post(url, {"name": "Angry customers", "shared": "on"}).status_code == 302
    view.refresh_from_db()
    assert (view.name, view.shared, view.query) == ("Angry customers", True, "sentiment=negative")
    assert [v.name for v in inbox_views_for(client, manager)] == ["Angry customers"]
    client.force_login(staff_member)
    assert client.post(url, {"name": "Angry customers"}).status_code == 302
    view.refresh_from_db()
    assert not view.shared
    assert list(inbox_views_for(client, manager)) == []


@pytest.mark.parametrize("actor", ["manager", "admin_user"])
def test_only_the_owner_changes_or_deletes_a_shared_view(client, request, staff_member, actor):
    view = inbox.save_view(owner=staff_member, name="Team view", query="", shared=True)
    client.force_login(request.getfixturevalue(actor))
    response = client.post(
        reverse("feedback:saved_view_edit", args=[view.pk]), {"name": "Hijacked"}, follow=True
    )
    assert "That view does not exist or is not yours to change." in response.content.decode()
    client.post(reverse("feedback:saved_view_delete", args=[view.pk]))
    view.refresh_from_db()
    assert (view.name, view.shared) == ("Team view", True)
    with pytest.raises(PermissionDenied):
        inbox.update_view(
            owner=request.getfixturevalue(actor), view_id=view.pk, name="X", shared=False
        )


@pytest.mark.parametrize(("actor", "status"), [("anonymous", 302), ("outsider", 403)])
def test_saved_view_edit_needs_the_inbox(client, request, staff_member, actor, status):
    view = inbox.save_view(owner=staff_member, name="Team view", query="", shared=True)
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
        assert client.get(reverse("feedback:inbox")).status_code == 403
    response = client.post(reverse("feedback:saved_view_edit", args=[view.pk]), {"name": "X"})
    assert response.status_code == status
    view.refresh_from_db()
    assert view.name == "Team view"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "This field is required."),
        ("x" * 81, "Ensure this value has at most 80 characters (it has 81)."),
        ("Other view", "You already have a view named “Other view”."),
    ],
)
def test_a_bad_saved_view_edit_is_a_400_with_the_message(client, staff_member, name, error):
    view = inbox.save_view(owner=staff_member, name="Team view", query="", shared=True)
    inbox.save_view(owner=staff_member, name="Other view", query="status=new")
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:saved_view_edit", args=[view.pk]), {"name": name, "shared": "on"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert error in body and '<details class="view-edit" open>' in body
    view.refresh_from_db()
    assert (view.name, view.shared) == ("Team view", True)


def test_two_people_may_share_views_of_the_same_name(client, staff_member, manager):
    inbox.save_view(owner=staff_member, name="Weekly", query="channel=review", shared=True)
    inbox.save_view(owner=manager, name="Weekly", query="channel=survey", shared=True)
    views = inbox_views_for(client, UserFactory(username="sue_staff", role="staff"))
    assert sorted((v.name, v.owner.username) for v in views) == [
        ("Weekly", "maria_manager"),
        ("Weekly", "sam_staff"),
    ]


def test_inbox_queries_do_not_grow_with_shared_views(
    client, staff_member, django_assert_max_num_queries
):
    for n in range(10):
        owner = UserFactory(username=f"colleague{n}", role="staff")
        inbox.save_view(owner=owner, name=f"View {n}", query=f"status=new&n={n}", shared=True)
    client.force_login(staff_member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("feedback:inbox"))
    assert len(response.context["saved_views"]) == 10
