"""The audit trail records who changed what, from pages, the API and the admin, read only."""

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.services import create_api_key, revoke_api_key
from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory, UserFactory

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk")


def test_staff_triage_in_the_inbox_is_logged_with_before_and_after(client, staff_member):
    feedback = FeedbackFactory(status="new")
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:detail", args=[feedback.pk]),
        {"status": "triaged", "assignee": staff_member.pk, "tags": ""},
    )
    assert response.status_code == 302
    entry = entries_for(feedback).get()
    assert entry.actor == staff_member
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict["status"] == ["new", "triaged"]
    assert "assignee" in entry.changes_dict


def test_an_admin_editing_and_deleting_a_staff_note_is_logged(client, staff_member, admin_user):
    from feedback.models import FeedbackNote

    feedback = FeedbackFactory()
    note = FeedbackNote.objects.create(feedback=feedback, author=staff_member, text="Call back")
    client.force_login(admin_user)
    edit = reverse("feedback:note_edit", args=[feedback.pk, note.pk])
    assert client.post(edit, {"text": "Called back on Monday"}).status_code == 302
    delete = reverse("feedback:note_delete", args=[feedback.pk, note.pk])
    assert client.post(delete).status_code == 302
    assert not FeedbackNote.objects.exists()

    created, changed, deleted = entries_for(note)
    assert created.action == LogEntry.Action.CREATE
    assert (changed.action, changed.actor) == (LogEntry.Action.UPDATE, admin_user)
    assert changed.changes_dict["text"] == ["Call back", "Called back on Monday"]
    assert (deleted.action, deleted.actor) == (LogEntry.Action.DELETE, admin_user)


def test_a_submission_is_not_a_staff_change_and_is_not_logged(client):
    client.post(reverse("feedback:public_form"), {"text": "The app is slow", "website": ""})
    feedback = Feedback.objects.get()
    assert not entries_for(feedback).exists()


def test_api_key_changes_are_logged_under_the_key(client, admin_user):
    key, raw = create_api_key(name="Help desk", scopes=["feedback:write"], created_by=admin_user)
    feedback = FeedbackFactory(status="new")
    response = client.patch(
        reverse("api:feedback-detail", args=[feedback.pk]),
        {"status": "closed"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200, response.content
    entry = entries_for(feedback).get()
    assert entry.actor is None
    assert entry.actor_email == f"API key {key.prefix}… (Help desk)"
    assert entry.changes_dict["status"] == ["new", "closed"]


def test_role_changes_and_key_revocations_are_logged(admin_user):
    user = UserFactory(username="newcomer")
    user.groups.add(Group.objects.get(name="manager"))
    group_entry = entries_for(user).filter(changes_text__icontains="groups").exists() or any(
        "groups" in (e.changes_dict or {}) for e in entries_for(user)
    )
    assert group_entry
    key, _ = create_api_key(name="BI", scopes=["feedback:read"], created_by=admin_user)
    revoke_api_key(key=key)
    changes = [e.changes_dict for e in entries_for(key)]
    assert any("revoked_at" in c for c in changes)
    assert all("digest" not in c for c in changes)  # the key's secret is never logged


@pytest.mark.parametrize(
    ("actor", "expected"),
    [(None, 302), ("outsider", 403), ("staff_member", 403), ("manager", 200), ("admin_user", 200)],
)
def test_audit_page_is_for_managers_and_admins(client, request, actor, expected):
    if actor:
        client.force_login(request.getfixturevalue(actor))
    assert client.get(reverse("audit_log")).status_code == expected


def test_audit_page_filters_by_actor_and_rejects_bad_dates(
    client, manager, staff_member, django_assert_max_num_queries
):
    for _ in range(3):
        feedback = FeedbackFactory(status="new")
        client.force_login(staff_member)
        client.post(
            reverse("feedback:detail", args=[feedback.pk]), {"status": "closed", "tags": ""}
        )
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("audit_log"), {"actor": "sam_staff"})
    assert page.status_code == 200
    assert len(page.context["page"].object_list) == 3
    assert (
        client.get(reverse("audit_log"), {"actor": "nobody"}).context["page"].paginator.count == 0
    )
    assert client.get(reverse("audit_log"), {"since": "not a date"}).status_code == 400


def test_entries_cannot_be_changed_or_deleted_in_the_admin(client, admin_user, staff_member):
    feedback = FeedbackFactory(status="new")
    client.force_login(staff_member)
    client.post(reverse("feedback:detail", args=[feedback.pk]), {"status": "closed", "tags": ""})
    entry = entries_for(feedback).get()
    client.force_login(admin_user)
    assert client.post(
        reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}
    ).status_code in {403, 404}
    assert client.post(
        reverse("admin:auditlog_logentry_change", args=[entry.pk]), {}
    ).status_code in {403, 404, 405}
    assert LogEntry.objects.filter(pk=entry.pk).exists()
