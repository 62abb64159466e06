"""Optional two-factor login: turned on with a code, then required at every login."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from feedback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long and correct passphrase"


def code_for(device: TOTPDevice, *, shift: int = 0) -> str:
    return (
        f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits) + shift:06d}"[
            -6:
        ]
    )


@pytest.fixture
def maria():
    user = UserFactory(username="maria", role="manager")
    user.set_password(PASSWORD)
    user.save()
    return user


def login(client, password=PASSWORD, token=""):
    return client.post(
        reverse("login"), {"username": "maria", "password": password, "otp_token": token}
    )


def test_manager_turns_it_on_with_a_code_from_the_app(client, maria):
    client.force_login(maria)
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode() and "please turn this on" in page.content.decode()
    device = TOTPDevice.objects.get(user=maria, confirmed=False)

    wrong = client.post(reverse("two_factor"), {"token": "000000"})
    assert wrong.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed

    device.throttle_reset()
    assert client.post(reverse("two_factor"), {"token": code_for(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_once_on_the_login_needs_the_current_code(client, maria):
    device = TOTPDevice.objects.create(user=maria, name="phone", confirmed=True)
    without = login(client)
    assert without.status_code == 200
    assert "Enter the code" in without.content.decode()
    assert "_auth_user_id" not in client.session

    wrong = login(client, token="123456" if code_for(device) != "123456" else "654321")
    assert "not valid" in wrong.content.decode()
    assert "_auth_user_id" not in client.session

    device.refresh_from_db()
    device.throttle_reset()
    assert login(client, token=code_for(device)).status_code == 302
    assert client.session["_auth_user_id"] == str(maria.pk)
    assert client.session["otp_device_id"] == device.persistent_id


def test_without_it_the_password_is_enough(client, maria):
    assert login(client).status_code == 302


def test_turning_it_off_needs_a_current_code(client, maria):
    device = TOTPDevice.objects.create(user=maria, name="phone", confirmed=True)
    client.force_login(maria)
    assert client.post(reverse("two_factor"), {"token": "not a code"}).status_code == 400
    assert TOTPDevice.objects.filter(user=maria).exists()
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post(reverse("two_factor"), {"token": code_for(device)}).status_code == 302
    assert not TOTPDevice.objects.filter(user=maria).exists()


def test_the_page_needs_a_login(client):
    assert client.get(reverse("two_factor")).status_code == 302
