import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_a_working_key_once():
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "helpdesk", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get(name="helpdesk")
    assert raw.startswith("fl_") and key.digest == ApiKey.digest_of(raw)
    assert sorted(key.scopes) == sorted(ApiKey.Scope.values)
    assert "not shown again" in err.getvalue()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/feedback/").status_code == 200


def test_create_api_key_with_limited_and_unknown_scopes():
    out = io.StringIO()
    call_command(
        "create_api_key", "bi", "--scopes", "feedback:read", stdout=out, stderr=io.StringIO()
    )
    assert ApiKey.objects.get(name="bi").scopes == ["feedback:read"]
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "x", "--scopes", "feedback:delete", stdout=io.StringIO())


def test_role_groups_hold_their_permissions(staff_member, manager, admin_user):
    assert staff_member.has_perm("feedback.triage_feedback")
    assert not staff_member.has_perm("feedback.view_insights")
    assert manager.has_perm("feedback.triage_feedback") and manager.has_perm(
        "feedback.view_insights"
    )
    assert admin_user.has_perm("accounts.add_apikey")
    assert not manager.has_perm("accounts.add_apikey")


def test_setup_demo_creates_logins_once_and_prints_them(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("setup_demo", "--size", "60", stdout=out)
    first = out.getvalue()
    User = get_user_model()
    assert set(User.objects.values_list("username", flat=True)) == {"manager", "staff", "admin"}
    password = next(
        line.split("password: ")[1]
        for line in first.splitlines()
        if "manager" in line and "password" in line
    )
    assert User.objects.get(username="manager").check_password(password.strip())

    out = io.StringIO()
    call_command("setup_demo", stdout=out)
    assert User.objects.count() == 3
    assert password.strip() in out.getvalue()
