import pytest
from django.core.cache import cache
from django.urls import reverse

from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _form(**overrides):
    data = {"text": "The checkout page keeps timing out.", "rating": "2", "consent": ""}
    data.update(overrides)
    return data


def test_public_form_stores_feedback_and_thanks(client):
    product = ProductFactory(name="Mobile app", slug="mobile-app")
    response = client.post(reverse("feedback:public_form"), _form(product=product.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:thanks")
    feedback = Feedback.objects.get()
    assert (feedback.channel, feedback.product, feedback.rating_normalised) == ("form", product, 0.25)
    assert client.get(response["Location"]).status_code == 200


def test_public_form_keeps_name_and_email_only_with_consent(client):
    response = client.post(
        reverse("feedback:public_form"), _form(name="Ann", email="ann@example.com", consent="on")
    )
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.submitter_email, feedback.consent) == ("ann@example.com", True)
    assert "improve its products" in feedback.consent_text

    response = client.post(reverse("feedback:public_form"), _form(email="bob@example.com"))
    assert response.status_code == 400
    assert "consent" in response.context["form"].errors
    assert Feedback.objects.count() == 1


def test_the_consent_names_the_organisation_that_stores_the_feedback(client, settings):
    settings.ORGANISATION_NAME = "Acme Rail"

    page = client.get(reverse("feedback:public_form")).content.decode()
    assert "I agree that Acme Rail stores" in page
    client.post(reverse("feedback:public_form"), _form(email="ann@example.com", consent="on"))
    assert Feedback.objects.get().consent_text.startswith("I agree that Acme Rail stores")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"rating": "9"}, "rating"),
        ({"email": "not-an-email", "consent": "on"}, "email"),
        ({"product": "99999"}, "product"),
    ],
)
def test_public_form_shows_field_errors_and_stores_nothing(client, data, field):
    response = client.post(reverse("feedback:public_form"), _form(**data))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Feedback.objects.count() == 0


def test_public_form_honeypot_pretends_success_but_stores_nothing(client):
    response = client.post(reverse("feedback:public_form"), _form(website="http://spam.example"))
    assert response.status_code == 302
    assert Feedback.objects.count() == 0


def test_public_form_rate_limits_each_ip(client, settings):
    settings.FEEDBACK_FORM_RATE = "3/m"
    statuses = [
        client.post(reverse("feedback:public_form"), _form(), REMOTE_ADDR="10.9.8.7").status_code
        for _ in range(5)
    ]
    assert statuses == [302, 302, 302, 429, 429]
    assert Feedback.objects.count() == 3
    # Another address is not affected.
    assert client.post(reverse("feedback:public_form"), _form(), REMOTE_ADDR="10.9.8.8").status_code == 302


def test_public_form_requires_csrf_token():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("feedback:public_form"), _form())
    assert response.status_code == 403
    assert Feedback.objects.count() == 0


# --- Roles on every page -------------------------------------------------------------

PAGES = {
    "inbox": lambda: reverse("feedback:inbox"),
    "detail": lambda: reverse("feedback:detail", args=[FeedbackFactory().pk]),
    "dashboard": lambda: reverse("insights:dashboard"),
    "public_form": lambda: reverse("feedback:public_form"),
    "thanks": lambda: reverse("feedback:thanks"),
    "login": lambda: reverse("login"),
    "api_docs": lambda: reverse("api:docs"),
    "api_schema": lambda: reverse("api:schema"),
    "admin": lambda: reverse("admin:index"),
}

# 'login' means a redirect to the login page.
EXPECTED = {
    "anonymous": {"inbox": "login", "detail": "login", "dashboard": "login", "admin": "login"},
    "outsider": {"inbox": 403, "detail": 403, "dashboard": 403, "admin": "login"},
    "staff_member": {"inbox": 200, "detail": 200, "dashboard": 403, "admin": "login"},
    "manager": {"inbox": 200, "detail": 200, "dashboard": 200, "admin": "login"},
    "admin_user": {"inbox": 200, "detail": 200, "dashboard": 200, "admin": 200},
}
OPEN_TO_ALL = {"public_form": 200, "thanks": 200, "login": 200, "api_docs": 200, "api_schema": 200}


@pytest.mark.parametrize("actor", list(EXPECTED))
@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_enforces_roles(client, request, actor, page):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    expected = OPEN_TO_ALL.get(page) or EXPECTED[actor][page]
    response = client.get(PAGES[page]())
    if expected == "login":
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    else:
        assert response.status_code == expected


def test_home_sends_each_role_to_its_start_page(client, staff_member, manager):
    assert "/login/" in client.get("/")["Location"]
    client.force_login(staff_member)
    assert client.get("/")["Location"] == reverse("feedback:inbox")
    client.force_login(manager)
    assert client.get("/")["Location"] == reverse("insights:dashboard")


# --- Inbox and triage ------------------------------------------------------------------


def test_inbox_filters_by_channel_sentiment_and_search(client, staff_member):
    FeedbackFactory(channel="review", text="Parcel arrived broken", sentiment_label="negative")
    FeedbackFactory(channel="review", text="Lovely staff", sentiment_label="positive")
    FeedbackFactory(channel="form", text="Parcel was late", sentiment_label="negative")
    client.force_login(staff_member)

    def texts(**params):
        response = client.get(reverse("feedback:inbox"), params)
        assert response.status_code == 200
        return sorted(f.text for f in response.context["page"].object_list)

    assert texts(channel="review") == ["Lovely staff", "Parcel arrived broken"]
    assert texts(channel="review", sentiment="negative") == ["Parcel arrived broken"]
    assert texts(q="parcel") == ["Parcel arrived broken", "Parcel was late"]
    assert len(texts()) == 3


def test_inbox_query_count_does_not_grow_with_rows(client, staff_member, django_assert_max_num_queries):
    for n in range(30):
        FeedbackFactory(text=f"row {n}")
    client.force_login(staff_member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("feedback:inbox"))
    assert len(response.context["page"].object_list) == 25


def test_staff_triages_feedback_on_detail_page(client, staff_member):
    feedback = FeedbackFactory()
    client.force_login(staff_member)
    url = reverse("feedback:detail", args=[feedback.pk])
    response = client.post(
        url, {"status": "actioned", "assignee": staff_member.pk, "tags": "billing, app crash"}
    )
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.status, feedback.assignee) == ("actioned", staff_member)
    assert sorted(feedback.tags.values_list("name", flat=True)) == ["app-crash", "billing"]

    response = client.post(url, {"status": "bogus"})
    assert response.status_code == 200
    assert "status" in response.context["form"].errors
    feedback.refresh_from_db()
    assert feedback.status == "actioned"


def test_an_assignee_who_left_is_kept_when_staff_change_the_status(client, staff_member):
    from django.contrib.auth import get_user_model

    leaver = get_user_model().objects.create_user("lee_left", is_active=True)
    leaver.groups.set(staff_member.groups.all())
    feedback = FeedbackFactory(assignee=leaver)
    leaver.is_active = False
    leaver.save()
    client.force_login(staff_member)
    url = reverse("feedback:detail", args=[feedback.pk])

    page = client.get(url).content.decode()
    assert f'<option value="{leaver.pk}" selected>lee_left (kept; no longer assignable)' in page

    response = client.post(url, {"status": "actioned", "assignee": leaver.pk, "tags": ""})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.status, feedback.assignee) == ("actioned", leaver)
    # Nobody else can be given to them.
    other = FeedbackFactory()
    refused = client.post(
        reverse("feedback:detail", args=[other.pk]),
        {"status": "new", "assignee": leaver.pk, "tags": ""},
    )
    assert refused.status_code == 200 and "assignee" in refused.context["form"].errors


def test_feedback_text_is_escaped_on_staff_pages(client, staff_member):
    feedback = FeedbackFactory(text='<script>alert("x")</script>')
    client.force_login(staff_member)
    for url in (reverse("feedback:inbox"), reverse("feedback:detail", args=[feedback.pk])):
        body = client.get(url).content.decode()
        assert '<script>alert("x")</script>' not in body
        assert "&lt;script&gt;" in body


def test_admin_triages_feedback_through_the_service(client, admin_user, staff_member, outsider):
    feedback = FeedbackFactory()
    client.force_login(admin_user)
    url = reverse("admin:feedback_feedback_change", args=[feedback.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"status": "closed", "assignee": staff_member.pk})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert (feedback.status, feedback.assignee) == ("closed", staff_member)
    # Only people who can triage are offered as assignees.
    response = client.post(url, {"status": "new", "assignee": outsider.pk})
    assert response.status_code == 200
    feedback.refresh_from_db()
    assert feedback.assignee == staff_member
    assert client.get(reverse("admin:feedback_feedback_add")).status_code == 403
