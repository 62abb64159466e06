"""Error pages in the application's own layout: not found, not allowed, server error."""

import pytest
from django.test import RequestFactory

from config.outage import handler500

pytestmark = pytest.mark.django_db


def test_an_unknown_address_is_a_404_page_with_a_way_back(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "<h1>Page not found</h1>" in body and 'href="/feedback/"' in body
    assert 'class="site-header"' in body


def test_a_page_above_the_role_is_a_403_page_that_names_the_account(client, staff_member):
    client.force_login(staff_member)

    response = client.get("/insights/alerts/rules/")

    assert response.status_code == 403
    body = response.content.decode()
    assert "<h1>Not allowed</h1>" in body and staff_member.get_username() in body


def test_a_server_error_page_renders_without_a_database_or_a_user():
    request = RequestFactory().get("/inbox/")
    try:
        raise ZeroDivisionError
    except ZeroDivisionError:
        response = handler500(request)

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
