"""Share page: public link, QR code (PNG, SVG), embed snippet, and which pages may be framed."""

from __future__ import annotations

import io

import pytest
import segno
from django.urls import reverse

from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db

BASE = "https://feedback.example.com"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.SITE_URL = BASE


@pytest.fixture
def survey():
    return make_survey(title='Café "quick" survey <3')


def public_url(survey):
    return BASE + reverse("surveys:respond", args=[survey.slug])


def test_share_page_roles(client, survey, outsider, staff_member):
    url = reverse("surveys:share", args=[survey.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(staff_member)
    assert client.get(url).status_code == 200


def test_share_page_shows_link_qr_and_an_escaped_embed_snippet(client, survey, staff_member):
    client.force_login(staff_member)
    page = client.get(reverse("surveys:share", args=[survey.pk]))
    content = page.content.decode()
    assert f'value="{public_url(survey)}"' in content
    assert reverse("surveys:qr_png", args=[survey.pk]) + "?download=1" in content
    assert reverse("surveys:qr_svg", args=[survey.pk]) + "?download=1" in content
    snippet = page.context["embed_snippet"]
    embed = BASE + reverse("surveys:embed", args=[survey.slug])
    assert snippet.startswith(f'<iframe src="{embed}" title="Café &quot;quick&quot; survey &lt;3"')
    # Its height script listens to the survey's own origin only.
    assert f'e.origin!=="{BASE}"' in snippet
    # Shown as text in the page: escaped once more, so no live iframe or markup.
    assert "<iframe" not in content
    assert "&lt;iframe" in content


def test_qr_png_encodes_the_public_link(client, survey, staff_member):
    client.force_login(staff_member)
    image = client.get(reverse("surveys:qr_png", args=[survey.pk]), {"download": "1"})

    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert image["Content-Disposition"] == f'attachment; filename="survey-{survey.slug}-qr.png"'
    assert "max-age=3600" in image["Cache-Control"] and "private" in image["Cache-Control"]
    expected = io.BytesIO()
    segno.make(public_url(survey), error="m", micro=False).save(
        expected, kind="png", scale=12, border=4
    )
    assert image.content == expected.getvalue()


def test_qr_svg_and_revalidation_by_etag(client, survey, staff_member):
    client.force_login(staff_member)
    url = reverse("surveys:qr_svg", args=[survey.pk])
    image = client.get(url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/svg+xml"
    assert image["Content-Disposition"].startswith("inline;")
    assert b"<svg" in image.content
    again = client.get(url, headers={"If-None-Match": image["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_qr_codes_need_a_survey_role(client, survey, outsider):
    for name in ("surveys:qr_png", "surveys:qr_svg"):
        url = reverse(name, args=[survey.pk])
        assert client.get(url).status_code == 302
        client.force_login(outsider)
        assert client.get(url).status_code == 403
        client.logout()


def test_only_the_embed_route_may_be_framed(client, survey, staff_member):
    embed = client.get(reverse("surveys:embed", args=[survey.slug]))
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed.headers
    assert "frame-ancestors *" in embed["Content-Security-Policy"]

    public = client.get(reverse("surveys:respond", args=[survey.slug]))
    assert public["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in public["Content-Security-Policy"]
    client.force_login(staff_member)
    for url in (
        reverse("surveys:share", args=[survey.pk]),
        reverse("surveys:kiosk", args=[survey.pk]),
        reverse("surveys:invitations", args=[survey.pk]),
    ):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], url


def test_embed_framing_is_limited_to_the_configured_sites(client, settings, survey):
    settings.SURVEY_EMBED_ORIGINS = ["https://shop.example.com"]
    embed = client.get(reverse("surveys:embed", args=[survey.slug]))
    assert "frame-ancestors https://shop.example.com" in embed["Content-Security-Policy"]


def test_pages_forbid_inline_scripts_and_styles(client):
    policy = client.get(reverse("feedback:public_form"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"


def test_without_a_configured_address_links_follow_the_request(
    client, settings, survey, staff_member
):
    settings.SITE_URL = ""
    client.force_login(staff_member)
    page = client.get(reverse("surveys:share", args=[survey.pk]))
    assert page.context["public_url"] == f"http://testserver/s/{survey.slug}/"


def test_embed_answers_without_csrf_cookie_and_every_page_may_be_framed(settings, survey):
    """A frame on another site sends no csrftoken cookie (SameSite=Lax): the embed takes
    the answers anyway, and its error pages (400, 404, 410, 429) may be shown in the
    frame."""
    from django.test import Client

    from surveys import services
    from surveys.models import Response
    from surveys.tests.factories import make_survey

    client = Client(enforce_csrf_checks=True)
    url = reverse("surveys:embed", args=[survey.slug])
    stored = client.post(url, {"q_nps": "9", "client_uuid": "5f0c7a52-8a43-4b0e-9c3e-1d7f3f4e2a10"})
    assert stored.status_code == 302
    assert Response.objects.get(survey=survey).channel == Response.Channel.EMBED

    invalid = client.post(url, {"q_nps": "11"})
    draft = client.get(reverse("surveys:embed", args=[make_survey(status="draft").slug]))
    services.close_survey(survey=survey)
    closed = client.post(url, {"q_nps": "9"})
    settings.FEEDBACK_FORM_RATE = "1/m"
    limited = client.post(url, {"q_nps": "9"})
    for response, status in ((invalid, 400), (draft, 404), (closed, 410), (limited, 429)):
        assert response.status_code == status
        assert "X-Frame-Options" not in response.headers, status
        assert "frame-ancestors *" in response["Content-Security-Policy"], status
