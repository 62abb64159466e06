"""Wrong passwords lock a username out from one address for a while; others are unaffected."""

import pytest
from django.urls import reverse

from feedback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long and correct passphrase"


def login(client, username, password, ip="203.0.113.7"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


@pytest.fixture
def maria():
    user = UserFactory(username="maria", role="manager")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_after_the_limit_even_the_right_password_is_refused(client, maria, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert login(client, "maria", "wrong").status_code == 200  # the form, with its error
    assert login(client, "maria", "wrong").status_code == 429
    locked = login(client, "maria", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client, maria, settings):
    settings.AXES_FAILURE_LIMIT = 2
    UserFactory(username="sam", role="staff")
    for _ in range(2):
        login(client, "maria", "wrong")
    assert login(client, "maria", PASSWORD).status_code == 429
    assert login(client, "maria", PASSWORD, ip="198.51.100.9").status_code == 302
    assert login(client, "sam", "wrong").status_code == 200


def test_a_successful_login_resets_the_count(client, maria, settings):
    settings.AXES_FAILURE_LIMIT = 3
    login(client, "maria", "wrong")
    login(client, "maria", "wrong")
    assert login(client, "maria", PASSWORD).status_code == 302
    client.logout()
    login(client, "maria", "wrong")
    login(client, "maria", "wrong")
    assert login(client, "maria", PASSWORD).status_code == 302
