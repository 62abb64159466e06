"""The review import API's list of skipped rows."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from api.tests.conftest import key_client
from feedback import review_import
from feedback.tasks import import_reviews_task

pytestmark = pytest.mark.django_db

SKIPPING_CSV = "review_id,stars,review\n" + "".join(
    f"r-{n},{9 if n % 2 else 5},Review number {n}\n" for n in range(1, 8)
)


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.REVIEW_IMPORT_DIR = tmp_path / "imports"


@pytest.fixture
def finished_import():
    # Started in the test's transaction: the queued task never reaches the broker (its
    # on_commit does not run); the worker's task runs here, in process.
    imp = review_import.create_review_import(
        upload=SimpleUploadedFile("reviews.csv", SKIPPING_CSV.encode())
    )
    review_import.start_review_import(
        review_import=imp,
        source="trustpilot",
        mapping={"text": "review", "rating": "stars", "external_id": "review_id"},
        rating_scale="1-5",
    )
    import_reviews_task(imp.pk)
    imp.refresh_from_db()
    assert (imp.rows_imported, imp.rows_skipped) == (3, 4)
    return imp


def errors_url(imp):
    return f"/api/v1/review-imports/{imp.pk}/errors/"


def test_skipped_rows_are_listed_by_line_with_reason_and_excerpt_in_pages(
    finished_import, django_assert_num_queries
):
    client = key_client(["feedback:read"])
    with django_assert_num_queries(5):  # key, key's last use, import, count, page
        first = client.get(errors_url(finished_import), {"page_size": 3})
    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["count"] == 4 and body["next"]
    assert [row["line"] for row in body["results"]] == [2, 4, 6]
    assert set(body["results"][0]) == {"line", "reason", "excerpt"}
    assert body["results"][0]["excerpt"] == "Review number 1"
    assert "between 1 and 5" in body["results"][0]["reason"]
    rest = client.get(body["next"]).json()
    assert [row["line"] for row in rest["results"]] == [8]


def test_skipped_rows_need_the_read_scope_and_the_import_permission(
    finished_import, client, staff_member, outsider
):
    url = errors_url(finished_import)
    assert APIClient().get(url).status_code == 401
    assert key_client(["feedback:write"]).get(url).status_code == 403
    assert (
        key_client(["feedback:read"]).get("/api/v1/review-imports/999999/errors/").status_code
        == 404
    )
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(staff_member)
    assert client.get(url).json()["count"] == 4


def test_skipped_rows_endpoint_is_in_the_schema():
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/review-imports/{id}/errors/"]["get"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert page.endswith("PaginatedReviewImportErrorList")


def test_an_import_without_a_product_answers_as_its_schema_says():
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    assert schema["components"]["schemas"]["ReviewImport"]["properties"]["product"]["nullable"]
