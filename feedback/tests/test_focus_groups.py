"""Focus group sessions: the service, the session page (fast entry) and who may use them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from feedback import focus_groups
from feedback.models import Feedback, FocusGroup, FocusGroupEntry
from feedback.tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(staff_member):
    product = ProductFactory(name="Mobile app", slug="mobile-app")
    group = focus_groups.save_focus_group(
        topic="Onboarding flow",
        scheduled_at=timezone.now() - dt.timedelta(hours=1),
        product=product,
        moderator=staff_member,
        agenda="1. First login\n2. Import",
        notes="",
        status=FocusGroup.Status.PLANNED,
        participants=[
            CustomerFactory(name="Ann"),
            CustomerFactory(name="Finance team", internal=True),
        ],
    )
    return group


def test_entry_becomes_focus_group_feedback_linked_to_session_and_participant(
    session, staff_member
):
    ann = session.participants.get(name="Ann")

    entry = focus_groups.add_focus_group_entry(
        focus_group=session,
        text="“I could not find the import button”",
        kind="quote",
        participant=ann,
        tags=["Onboarding"],
        author=staff_member,
    )

    feedback = entry.feedback
    assert (feedback.channel, feedback.source, feedback.customer, feedback.product) == (
        "focus_group",
        f"focus-group-{session.pk}",
        ann,
        session.product,
    )
    assert feedback.received_at == session.scheduled_at
    assert list(feedback.tags.values_list("name", flat=True)) == ["onboarding"]
    assert (entry.kind, entry.author) == ("quote", staff_member)
    session.refresh_from_db()
    assert session.status == FocusGroup.Status.HELD


def test_entry_for_a_session_later_today_is_dated_now_not_in_the_future(staff_member):
    group = focus_groups.save_focus_group(
        topic="Later",
        scheduled_at=timezone.now() + dt.timedelta(hours=3),
        product=None,
        moderator=staff_member,
        agenda="",
        notes="",
        status="planned",
    )
    entry = focus_groups.add_focus_group_entry(
        focus_group=group, text="Too many steps", author=None
    )
    assert entry.feedback.received_at <= timezone.now()


def test_entry_from_someone_outside_the_session_is_refused_and_nothing_stored(
    session, staff_member
):
    stranger = CustomerFactory(name="Stranger")
    with pytest.raises(ValidationError) as error:
        focus_groups.add_focus_group_entry(
            focus_group=session, text="Hello", participant=stranger, author=staff_member
        )
    assert "participant" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        focus_groups.add_focus_group_entry(focus_group=session, text="   ", author=staff_member)
    assert "text" in error.value.message_dict
    assert (Feedback.objects.count(), FocusGroupEntry.objects.count()) == (0, 0)


def test_session_needs_a_topic_and_a_moderator_who_may_run_sessions(outsider):
    with pytest.raises(ValidationError) as error:
        focus_groups.save_focus_group(topic=" ", scheduled_at=timezone.now(), moderator=None)
    assert "topic" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        focus_groups.save_focus_group(topic="X", scheduled_at=timezone.now(), moderator=outsider)
    assert "moderator" in error.value.message_dict
    assert FocusGroup.objects.count() == 0


def test_removing_an_entry_removes_its_feedback(session, staff_member):
    entry = focus_groups.add_focus_group_entry(
        focus_group=session, text="Slow", author=staff_member
    )
    focus_groups.delete_focus_group_entry(entry=entry)
    assert (Feedback.objects.count(), FocusGroupEntry.objects.count()) == (0, 0)


def test_entries_feedback_follows_the_sessions_product_and_date_keeping_participants(
    session, staff_member
):
    ann = session.participants.get(name="Ann")
    quote = focus_groups.add_focus_group_entry(
        focus_group=session, text="Too many steps", author=staff_member, participant=ann
    )
    finding = focus_groups.add_focus_group_entry(
        focus_group=session, text="Import is hidden", author=staff_member
    )
    web, earlier = ProductFactory(slug="web"), timezone.now() - dt.timedelta(days=7)

    focus_groups.save_focus_group(focus_group=session, product=web, scheduled_at=earlier)

    rows = {
        f.pk: (f.customer, f.product, f.received_at)
        for f in Feedback.objects.filter(pk__in=[quote.feedback_id, finding.feedback_id])
    }
    assert rows == {
        quote.feedback_id: (ann, web, earlier),
        finding.feedback_id: (None, web, earlier),
    }
    focus_groups.save_focus_group(
        focus_group=session, product=None, scheduled_at=timezone.now() + dt.timedelta(days=1)
    )
    for feedback in Feedback.objects.all():
        assert feedback.product is None and feedback.received_at == feedback.created_at


# --- Pages -----------------------------------------------------------------------------


def test_participant_picker_tells_namesakes_apart_and_consent_is_warned_about(client, staff_member):
    by_email = CustomerFactory(name="Aiko Berg", email="aiko@shop.example", consent_research=True)
    by_company = CustomerFactory(name="Aiko Berg", email="", account="Berg GmbH")
    bare = CustomerFactory(name="Aiko Berg", email="", consent_research=True)
    client.force_login(staff_member)

    form = client.get(reverse("feedback:focus_group_create")).context["form"]
    labels = dict(form.fields["participants"].choices)
    assert [labels[c.pk] for c in (by_email, by_company, bare)] == [
        "Aiko Berg (aiko@shop.example)",
        "Aiko Berg (Berg GmbH) — no research consent",
        f"Aiko Berg (#{bare.pk})",
    ]

    def session(*participants):
        return {
            "topic": "Checkout",
            "scheduled_at": "2025-03-04T10:00",
            "moderator": staff_member.pk,
            "participants": [p.pk for p in participants],
            "status": "planned",
        }

    response = client.post(
        reverse("feedback:focus_group_create"), session(by_email, by_company), follow=True
    )
    assert [(m.level_tag, str(m)) for m in response.context["messages"]][1:] == [
        (
            "warning",
            "Aiko Berg (Berg GmbH) has not consented to research: make sure they agreed "
            "before you record what they say.",
        )
    ]
    assert "no research consent" in response.content.decode()
    # Everyone consented: no warning.
    group = FocusGroup.objects.get()
    response = client.post(
        reverse("feedback:focus_group_edit", args=[group.pk]),
        session(by_email, bare),
        follow=True,
    )
    assert [m.level_tag for m in response.context["messages"]] == ["success"]


def test_staff_creates_a_session_and_adds_findings_one_after_another(client, staff_member):
    ann = CustomerFactory(name="Ann")
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:focus_group_create"),
        {
            "topic": "Checkout",
            "scheduled_at": "2025-03-04T10:00",
            "moderator": staff_member.pk,
            "participants": [ann.pk],
            "agenda": "",
            "notes": "",
            "status": "planned",
        },
    )
    group = FocusGroup.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "feedback:focus_group_detail", args=[group.pk]
    )
    add_url = reverse("feedback:focus_group_entry_add", args=[group.pk])

    # Without JavaScript: a normal post and back to the form.
    response = client.post(
        add_url, {"text": "Card form is confusing", "kind": "finding", "participant": ann.pk}
    )
    assert response.status_code == 302 and response["Location"].endswith("#entry-form")
    # With JavaScript: JSON with the rendered, escaped row.
    response = client.post(
        add_url, {"text": "<b>Love</b> Apple Pay", "kind": "quote"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 201
    assert "&lt;b&gt;Love&lt;/b&gt;" in response.json()["html"]

    page = client.get(reverse("feedback:focus_group_detail", args=[group.pk]))
    assert page.status_code == 200
    assert [e.feedback.text for e in page.context["entries"]] == [
        "Card form is confusing",
        "<b>Love</b> Apple Pay",
    ]
    assert Feedback.objects.filter(channel="focus_group").count() == 2


def test_entry_participant_picker_names_participants_and_tells_namesakes_apart(
    client, session, staff_member
):
    first = CustomerFactory(name="Aiko Berg", email="aiko@shop.example")
    second = CustomerFactory(name="Aiko Berg", email="", account="Berg GmbH")
    session.participants.add(first, second)
    client.force_login(staff_member)
    form = client.get(reverse("feedback:focus_group_detail", args=[session.pk])).context["form"]
    assert [label for _, label in form.fields["participant"].choices] == [
        "(the group / unknown)",
        "Aiko Berg (aiko@shop.example)",
        "Aiko Berg (Berg GmbH)",
        "Ann",
        "Finance team",
    ]


def test_first_entry_added_by_script_answers_the_session_now_held(client, session, staff_member):
    client.force_login(staff_member)
    page = client.get(reverse("feedback:focus_group_detail", args=[session.pk]))
    assert "<dd data-session-status>Planned</dd>" in page.content.decode()
    response = client.post(
        reverse("feedback:focus_group_entry_add", args=[session.pk]),
        {"text": "Import is hidden", "kind": "finding"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 201
    data = response.json()
    assert (data["session_status"], data["session_status_display"]) == ("held", "Held")


def test_bad_entry_answers_400_with_field_errors(client, session, staff_member):
    client.force_login(staff_member)
    url = reverse("feedback:focus_group_entry_add", args=[session.pk])
    response = client.post(url, {"text": "", "kind": "finding"})
    assert response.status_code == 400 and "text" in response.context["form"].errors
    response = client.post(url, {"text": "x", "kind": "rant"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "kind" in response.json()["errors"]
    response = client.post(url, {"text": "x", "participant": CustomerFactory().pk})
    assert response.status_code == 400 and "participant" in response.context["form"].errors
    assert Feedback.objects.count() == 0


def test_bad_session_form_answers_400(client, staff_member):
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:focus_group_create"), {"topic": "", "scheduled_at": "soon"}
    )
    assert response.status_code == 400
    assert {"topic", "scheduled_at", "moderator"} <= set(response.context["form"].errors)


def test_session_form_refuses_a_participant_id_out_of_range(client, staff_member):
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:focus_group_create"),
        {
            "topic": "Checkout",
            "scheduled_at": "2024-01-01T10:00",
            "moderator": staff_member.pk,
            "participants": ["99999999999999999999999"],
            "status": "planned",
        },
    )
    assert response.status_code == 400
    assert "participants" in response.context["form"].errors
    assert FocusGroup.objects.count() == 0


ROLE_EXPECTATIONS = {
    # page: (anonymous, outsider, staff, manager)
    "list": ("login", 403, 200, 200),
    "create": ("login", 403, 200, 200),
    "detail": ("login", 403, 200, 200),
    "edit": ("login", 403, 200, 200),
}


@pytest.mark.parametrize(
    "actor_index, actor", list(enumerate(["anonymous", "outsider", "staff_member", "manager"]))
)
@pytest.mark.parametrize("page", list(ROLE_EXPECTATIONS))
def test_focus_group_pages_enforce_roles(client, request, session, page, actor_index, actor):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    url = {
        "list": reverse("feedback:focus_groups"),
        "create": reverse("feedback:focus_group_create"),
        "detail": reverse("feedback:focus_group_detail", args=[session.pk]),
        "edit": reverse("feedback:focus_group_edit", args=[session.pk]),
    }[page]
    expected = ROLE_EXPECTATIONS[page][actor_index]
    response = client.get(url)
    if expected == "login":
        assert response.status_code == 302 and "/login/" in response["Location"]
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("actor", ["anonymous", "outsider"])
def test_only_staff_may_add_entries(client, request, session, actor):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    response = client.post(
        reverse("feedback:focus_group_entry_add", args=[session.pk]), {"text": "x"}
    )
    assert response.status_code in (302, 403)
    assert Feedback.objects.count() == 0


def test_session_list_query_count_is_bounded(client, staff_member, django_assert_max_num_queries):
    for n in range(15):
        group = focus_groups.save_focus_group(
            topic=f"S{n}",
            scheduled_at=timezone.now(),
            moderator=staff_member,
            participants=[CustomerFactory()],
        )
        focus_groups.add_focus_group_entry(focus_group=group, text="ok", author=staff_member)
    client.force_login(staff_member)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("feedback:focus_groups"))
    assert response.status_code == 200 and len(response.context["page"].object_list) == 15
