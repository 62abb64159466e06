"""Optional two-factor login with a time-based code (TOTP, django-otp).

Anyone signed in may turn it on in "Two-factor login"; managers and admins are asked to.
Once a confirmed authenticator exists, the login form needs its current 6-digit code as
well as the password. Wrong codes slow the device down (django-otp's throttling), and
wrong passwords lock the username out (django-axes), so neither can be guessed at speed.
"""

from __future__ import annotations

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import roles

CODE_HELP = "The 6-digit code your authenticator app shows now."


class LoginForm(AuthenticationForm):
    """Username and password, plus the authenticator code for users who turned it on."""

    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        max_length=12,
        help_text="Only if you turned on two-factor login.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and any(devices_for_user(user, confirmed=True)):
            token = (cleaned.get("otp_token") or "").strip()
            if not token:
                raise forms.ValidationError(
                    "Enter the code from your authenticator app.", code="otp_required"
                )
            device = match_token(user, token)
            if device is None:
                raise forms.ValidationError(
                    "That code is not valid (or was tried too often). Wait for the next one.",
                    code="otp_invalid",
                )
            user.otp_device = device  # django-otp marks the session verified on login
        return cleaned


class CodeForm(forms.Form):
    token = forms.CharField(label="Code", max_length=12, help_text=CODE_HELP)


def _pending_device(user) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        if confirmed is not None:  # turning it off needs a current code
            if confirmed.verify_token(token):
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, "Two-factor login is off.")
                return redirect("two_factor")
        else:
            device = _pending_device(user)
            if device.verify_token(token):
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                messages.success(request, "Two-factor login is on: the next login asks for a code.")
                return redirect("two_factor")
        form.add_error(
            "token", "That code is not valid. Check the time on your phone and try again."
        )
    context = {
        "form": form,
        "enabled": confirmed is not None,
        "recommended": roles.role_of(user) in {roles.MANAGER, roles.ADMIN},
    }
    if confirmed is None:
        device = _pending_device(user)
        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(
            scale=4, title="QR code for your authenticator app"
        )
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/two_factor.html", context, status=status)
