"""Respondents' own pages: ask for a link, then download or erase what is stored about them."""

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.rate_limits import limit_posts_per_ip

from . import privacy
from .models import ErasureRecord


class PrivacyRequestForm(forms.Form):
    email = forms.EmailField(label="Your email address", max_length=254)


class ErasureConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand my personal data will be erased and cannot be restored."
    )


@require_http_methods(["GET", "POST"])
@limit_posts_per_ip("PRIVACY_REQUEST_RATE")
def privacy_start(request):
    form = PrivacyRequestForm(request.POST or None)
    if request.method == "POST":
        if getattr(request, "limited", False):
            context = {"form": form, "rate_limited": True}
            return render(request, "feedback/privacy_start.html", context, status=429)
        if form.is_valid():
            privacy.send_access_link(email=form.cleaned_data["email"])
            # The same answer whether or not the address is known.
            return render(request, "feedback/privacy_sent.html")
        return render(request, "feedback/privacy_start.html", {"form": form}, status=400)
    return render(request, "feedback/privacy_start.html", {"form": form})


def _email_or_error(request, token):
    try:
        return privacy.email_from_token(token), None
    except ValidationError as exc:
        page = render(
            request, "feedback/privacy_invalid.html", {"message": exc.messages[0]}, status=404
        )
        return None, page


def _request_page(request, token, email, form, status=200):
    data = privacy.collect_personal_data(email=email)
    context = {
        "token": token,
        "email": email,
        "counts": {kind: len(rows) for kind, rows in data.records.items()},
        "holds_data": privacy.holds_data_about(email),
        "erased": ErasureRecord.objects.filter(email_sha256=privacy.email_digest(email)).first(),
        "form": form,
    }
    return render(request, "feedback/privacy_request.html", context, status=status)


@require_http_methods(["GET"])
def privacy_request(request, token):
    email, error = _email_or_error(request, token)
    if error:
        return error
    return _request_page(request, token, email, ErasureConfirmForm())


@require_http_methods(["GET"])
def privacy_export(request, token, fmt):
    if fmt not in {"json", "csv"}:
        raise Http404
    email, error = _email_or_error(request, token)
    if error:
        return error
    data = privacy.collect_personal_data(email=email)
    if fmt == "json":
        response = HttpResponse(data.as_json(), content_type="application/json")
    else:
        response = HttpResponse(data.as_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="focusloop-my-data.{fmt}"'
    return response


@require_POST
def privacy_erase(request, token):
    email, error = _email_or_error(request, token)
    if error:
        return error
    form = ErasureConfirmForm(request.POST)
    if form.is_valid():
        try:
            record = privacy.erase_personal_data(email=email, via=ErasureRecord.Via.LINK)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            return render(request, "feedback/privacy_erased.html", {"record": record})
    return _request_page(request, token, email, form, status=400)
