"""The schema documents every error status with the one error shape; Redoc is served
from the site itself."""

import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/v1/schema/?format=json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_every_operation_documents_auth_scope_and_throttle_errors_with_the_error_shape(schema):
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"errors", "code"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        for status in ("401", "403", "429"):
            content = responses[status]["content"]["application/json"]["schema"]
            assert content == ERROR_REF, (method, path, status)
        assert "Retry-After" in responses["429"]["headers"]


def test_writes_document_400_and_409_and_addresses_with_an_id_404(schema):
    for path, method, operation in operations(schema):
        statuses = set(operation["responses"])
        if method != "get":
            assert {"400", "409"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                assert "content" in response, (method, path, status)


def test_an_endpoints_own_error_description_is_kept(schema):
    created = schema["paths"]["/api/v1/surveys/{id}/invitations/"]["post"]["responses"]
    assert "survey_not_open" in created["409"]["description"]
    assert created["409"]["content"]["application/json"]["schema"] == ERROR_REF


def test_redoc_is_served_offline_under_a_strict_script_policy(client):
    page = client.get("/api/v1/redoc/")
    assert page.status_code == 200
    html = page.content.decode()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(src.startswith("/static/") for src in scripts)
    assert "redoc.standalone.js" in scripts[0]
    assert 'spec-url="/api/v1/schema/"' in html
    assert "http://" not in html and "https://" not in html
    assert "<script>" not in html  # nothing inline: scripts stay 'self' only
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "script-src 'self' 'unsafe" not in policy
    assert "'unsafe-inline'" in policy.split("style-src", 1)[1].split(";")[0]
