import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback import review_import
from feedback.models import Feedback, ReviewImport
from feedback.tasks import import_reviews_task
from feedback.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CSV = (
    "review_id,stars,date,review\n"
    "t-1,5,2024-02-01,Lovely people\n"
    "t-2,1,2024-02-02,=HYPERLINK(\"http://evil.example\")\n"
    "t-3,9,2024-02-03,Out of scale\n"
)
API_LIST = "/api/v1/review-imports/"


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.REVIEW_IMPORT_DIR = tmp_path / "imports"
    return settings.REVIEW_IMPORT_DIR


@pytest.fixture
def queued(monkeypatch):
    ids = []
    monkeypatch.setattr(import_reviews_task, "apply_async", lambda args, **kw: ids.append(args[0]))
    return ids


def _file(content=CSV, name="trustpilot.csv"):
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


def _mapped_import(**kwargs):
    imp = review_import.create_review_import(upload=_file())
    return review_import.start_review_import(
        review_import=imp,
        source="trustpilot",
        mapping={"text": "review", "rating": "stars", "external_id": "review_id", "date": "date"},
        rating_scale="1-5",
        **kwargs,
    )


def _finished_import():
    imp = _mapped_import()
    import_reviews_task(imp.pk)
    imp.refresh_from_db()
    return imp


def _key_client(scopes):
    _, raw = create_api_key(name="etl", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- Who may ---------------------------------------------------------------------------

PAGES = {
    "list": lambda imp: reverse("feedback:review_imports"),
    "map": lambda imp: reverse("feedback:review_import_map", args=[imp.pk]),
    "detail": lambda imp: reverse("feedback:review_import_detail", args=[imp.pk]),
    "errors_csv": lambda imp: reverse("feedback:review_import_errors_csv", args=[imp.pk]),
}


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize(
    ("actor", "expected"),
    [("anonymous", "login"), ("outsider", 403), ("staff_member", 200), ("manager", 200)],
)
def test_import_pages_enforce_the_import_permission(client, request, page, actor, expected):
    imp = review_import.create_review_import(upload=_file())
    if page in ("detail", "errors_csv"):
        imp = _mapped_import()
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    response = client.get(PAGES[page](imp))
    if expected == "login":
        assert response.status_code == 302 and "/login/" in response["Location"]
    else:
        assert response.status_code == expected


def test_posts_need_the_permission_too(client, outsider):
    imp = review_import.create_review_import(upload=_file())
    client.force_login(outsider)
    assert client.post(reverse("feedback:review_imports"), {"file": _file()}).status_code == 403
    assert client.post(reverse("feedback:review_import_map", args=[imp.pk]), {}).status_code == 403
    assert client.post(reverse("feedback:review_import_resume", args=[imp.pk])).status_code == 403
    assert ReviewImport.objects.count() == 1


def test_staff_sees_the_imports_link(client, staff_member, outsider):
    client.force_login(staff_member)
    assert reverse("feedback:review_imports") in client.get(reverse("feedback:inbox")).content.decode()
    client.force_login(outsider)
    body = client.get(reverse("feedback:public_form")).content.decode()
    assert reverse("feedback:review_imports") not in body


# --- Upload, map, follow --------------------------------------------------------------------


def test_staff_uploads_maps_and_queues_an_import(client, staff_member, queued, django_capture_on_commit_callbacks):
    product = ProductFactory(name="Shop", slug="shop")
    client.force_login(staff_member)
    response = client.post(reverse("feedback:review_imports"), {"file": _file()})
    imp = ReviewImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:review_import_map", args=[imp.pk])
    assert imp.uploaded_by == staff_member

    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Lovely people" in body and "review_id" in body  # preview and columns
    form = page.context["form"]
    assert (form["text_column"].value(), form["rating_column"].value()) == ("review", "stars")
    assert form["source"].value() == "trustpilot"  # from the file name
    assert "now: 1 to 10" in dict(form.fields["rating_scale"].choices)["auto"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            response["Location"],
            {
                "text_column": "review", "rating_column": "stars", "external_id_column": "review_id",
                "date_column": "date", "title_column": "", "author_column": "",
                "product_column": "", "source": "Trustpilot", "product": product.pk,
                "rating_scale": "1-5", "date_order": "auto",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("feedback:review_import_detail", args=[imp.pk])
    imp.refresh_from_db()
    assert (imp.status, imp.source, imp.product, imp.rating_max) == ("queued", "trustpilot", product, 5)
    assert queued == [imp.pk]
    # A started import cannot be mapped again.
    assert client.get(reverse("feedback:review_import_map", args=[imp.pk])).status_code == 302


def test_mapping_errors_show_on_the_form(client, staff_member):
    imp = review_import.create_review_import(upload=_file())
    client.force_login(staff_member)
    url = reverse("feedback:review_import_map", args=[imp.pk])
    response = client.post(url, {"text_column": "review", "title_column": "review", "source": "x",
                                 "rating_scale": "auto", "date_order": "auto", "product_column": "",
                                 "product": ProductFactory().pk})
    assert response.status_code == 400
    assert "title_column" in response.context["form"].errors
    response = client.post(url, {"text_column": "nope", "source": "", "rating_scale": "auto",
                                 "date_order": "auto"})
    assert response.status_code == 400
    assert {"text_column", "source"} <= set(response.context["form"].errors)
    imp.refresh_from_db()
    assert imp.status == "mapping"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (_file(b'[{"review": "x"', "broken.json"), "Malformed JSON"),
        (_file(b"", "empty.csv"), "empty"),
        (_file(b"review\nok\n", "reviews.xlsx"), ".csv, .json or .txt"),
        (_file(b"review\n" + b"x" * 300, "big.csv"), "larger than"),
    ],
    ids=["malformed", "empty", "extension", "too-big"],
)
def test_bad_uploads_are_form_errors_not_500s(client, staff_member, settings, upload, message):
    settings.REVIEW_IMPORT_MAX_BYTES = 200
    client.force_login(staff_member)
    response = client.post(reverse("feedback:review_imports"), {"file": upload})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["file"])
    assert ReviewImport.objects.count() == 0


def test_discarding_an_unstarted_upload(client, staff_member, import_dir):
    imp = review_import.create_review_import(upload=_file())
    client.force_login(staff_member)
    response = client.post(reverse("feedback:review_import_discard", args=[imp.pk]))
    assert response.status_code == 302
    assert not ReviewImport.objects.exists()
    assert not any((import_dir).iterdir())


def test_detail_page_shows_counts_skipped_rows_and_polls_with_its_script(client, staff_member):
    imp = _finished_import()
    assert (imp.rows_imported, imp.rows_skipped) == (2, 1)
    client.force_login(staff_member)
    body = client.get(reverse("feedback:review_import_detail", args=[imp.pk])).content.decode()
    assert '<progress id="import-progress-bar" max="100" value="100"' in body
    assert "Rating must lie between 1 and 5." in body
    assert reverse("feedback:review_import_errors_csv", args=[imp.pk]) in body
    assert f'data-status-url="/api/v1/review-imports/{imp.pk}/"' in body
    assert "js/review_import.js" in body
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", body))  # no inline scripts


def test_running_import_page_offers_to_queue_it_again(client, staff_member, queued):
    imp = _mapped_import()
    client.force_login(staff_member)
    body = client.get(reverse("feedback:review_import_detail", args=[imp.pk])).content.decode()
    assert 'data-finished="false"' in body and "Queue it again" in body
    response = client.post(reverse("feedback:review_import_resume", args=[imp.pk]))
    assert response.status_code == 302


def test_skipped_rows_download_as_csv_with_formulas_defused(client, staff_member):
    imp = review_import.create_review_import(
        upload=_file("id,review\n1,=1+2\n2,-3\n3,fine\n")
    )
    imp = review_import.start_review_import(
        review_import=imp, source="s", mapping={"text": "review", "rating": "id"},
        rating_scale="0-5",
    )
    ReviewImport.objects.filter(pk=imp.pk).update(rating_min=2, rating_max=3)
    import_reviews_task(imp.pk)
    client.force_login(staff_member)
    response = client.get(reverse("feedback:review_import_errors_csv", args=[imp.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows == [
        ["line", "reason", "id", "review"],
        ["2", "id (rating): Rating must lie between 2 and 3.", "1", "'=1+2"],
    ]


def test_skipped_rows_download_as_a_file_that_imports_once_corrected(client, staff_member):
    """Download the skipped rows, correct the cells, upload the download: the corrected
    row is imported, once."""
    imp = _finished_import()
    assert (imp.rows_imported, imp.rows_skipped) == (2, 1)
    client.force_login(staff_member)
    response = client.get(reverse("feedback:review_import_errors_csv", args=[imp.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["line", "reason", "review_id", "stars", "date", "review"],
        ["4", "stars (rating): Rating must lie between 1 and 5.", "t-3", "9", "2024-02-03",
         "Out of scale"],
    ]
    rows[1][3] = "4"  # the correction
    corrected = io.StringIO()
    csv.writer(corrected).writerows(rows)
    again = review_import.create_review_import(upload=_file(corrected.getvalue(), "fixed.csv"))
    again = review_import.start_review_import(
        review_import=again,
        source="trustpilot",
        mapping={"text": "review", "rating": "stars", "external_id": "review_id", "date": "date"},
        rating_scale="1-5",
    )
    import_reviews_task(again.pk)
    again.refresh_from_db()
    assert (again.rows_imported, again.rows_skipped) == (1, 0)
    assert Feedback.objects.get(external_id="t-3").rating == 4
    assert Feedback.objects.filter(source="trustpilot").count() == 3


def test_skipped_rows_file_renames_its_own_columns_when_the_export_has_them(
    client, staff_member
):
    imp = review_import.create_review_import(upload=_file("line,reason\n1,\n2,Fine\n"))
    imp = review_import.start_review_import(
        review_import=imp, source="s", mapping={"text": "reason"}, rating_scale="1-5"
    )
    import_reviews_task(imp.pk)
    client.force_login(staff_member)
    response = client.get(reverse("feedback:review_import_errors_csv", args=[imp.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["skipped line", "skip reason", "line", "reason"]
    assert rows[1][2:] == ["1", ""] and len(rows) == 2


def test_import_list_shows_every_import_with_few_queries(
    client, staff_member, django_assert_max_num_queries
):
    _finished_import()
    for _ in range(4):
        review_import.create_review_import(upload=_file(), uploaded_by=staff_member)
    client.force_login(staff_member)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("feedback:review_imports"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 5
    body = response.content.decode()
    assert body.count("trustpilot.csv") == 5
    assert "Done" in body and "Waiting for the column mapping" in body
    assert body.count(f"<td>{staff_member.username}</td>") == 4


# --- Progress endpoint and API ----------------------------------------------------------------


def test_progress_endpoint_returns_status_and_counts(client, staff_member, outsider):
    imp = _finished_import()
    url = reverse("api:review-import-detail", args=[imp.pk])
    client.force_login(staff_member)
    data = client.get(url).json()
    assert {k: data[k] for k in ("status", "is_finished", "percent_done", "rows_total",
                                 "rows_processed", "rows_imported", "rows_duplicate",
                                 "rows_skipped")} == {
        "status": "done", "is_finished": True, "percent_done": 100, "rows_total": 3,
        "rows_processed": 3, "rows_imported": 2, "rows_duplicate": 0, "rows_skipped": 1,
    }
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code in (401, 403)


def test_progress_endpoint_reports_a_running_import(client, staff_member):
    imp = _mapped_import()
    ReviewImport.objects.filter(pk=imp.pk).update(
        status="running", rows_processed=2, rows_imported=1, rows_skipped=1
    )
    client.force_login(staff_member)
    data = client.get(reverse("api:review-import-detail", args=[imp.pk])).json()
    assert (data["status"], data["percent_done"], data["is_finished"]) == ("running", 66, False)


def test_api_upload_with_guessed_mapping_queues_the_import(queued, django_capture_on_commit_callbacks):
    client = _key_client(["feedback:write", "feedback:read"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            API_LIST, {"file": _file(), "source": "trustpilot", "rating_scale": "1-5"},
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["status"] == "queued"
    assert data["mapping"] == {"text": "review", "rating": "stars", "external_id": "review_id", "date": "date"}
    assert data["uploaded_by"] == "api-key:etl"
    assert queued == [data["id"]]

    import_reviews_task(data["id"])
    status = client.get(f"{API_LIST}{data['id']}/").json()
    assert (status["status"], status["rows_imported"], status["rows_skipped"]) == ("done", 2, 1)
    assert Feedback.objects.filter(source="trustpilot").count() == 2


def test_api_upload_overrides_the_guess_and_reports_errors(queued, import_dir):
    client = _key_client(["feedback:write"])
    response = client.post(
        API_LIST,
        {"file": _file(), "source": "tp", "rating_column": "", "date_column": "nope"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "date_column" in response.json()["errors"]
    assert not ReviewImport.objects.exists() and not any(import_dir.iterdir())

    response = client.post(
        API_LIST, {"file": _file(b"[oops", "x.json"), "source": "tp"}, format="multipart"
    )
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["errors"]["file"][0]

    response = client.post(
        API_LIST, {"file": _file(), "source": "tp", "rating_column": ""}, format="multipart"
    )
    assert response.status_code == 202
    assert "rating" not in response.json()["mapping"]


def test_api_scopes_and_permissions():
    reader = _key_client(["feedback:read"])
    assert reader.post(API_LIST, {"file": _file(), "source": "x"}, format="multipart").status_code == 403
    assert reader.get(API_LIST).status_code == 200
    writer = _key_client(["feedback:write"])
    assert writer.get(API_LIST).status_code == 403
    assert APIClient().get(API_LIST).status_code == 401


def test_api_upload_by_session_needs_csrf_and_the_permission(staff_member, outsider, queued):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_member)
    response = client.post(API_LIST, {"file": _file(), "source": "x"}, format="multipart")
    assert response.status_code == 403  # no CSRF token
    client = APIClient()
    client.force_login(staff_member)
    response = client.post(API_LIST, {"file": _file(), "source": "x", "rating_scale": "1-5"}, format="multipart")
    assert response.status_code == 202
    assert ReviewImport.objects.get().uploaded_by == staff_member
    client.force_login(outsider)
    assert client.post(API_LIST, {"file": _file(), "source": "x"}, format="multipart").status_code == 403
