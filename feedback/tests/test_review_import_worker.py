"""The review import on real parts: Redis as the broker and a Celery worker consuming it."""


import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conftest import wait_until
from feedback.models import Feedback, ReviewImport
from feedback.tasks import import_reviews_task

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.REVIEW_IMPORT_DIR = tmp_path / "imports"






def test_worker_imports_an_upload_mapped_on_the_page(client, staff_member, celery_worker):
    content = "id,stars,review\n" + "".join(f"{n},{n % 5 + 1},Review number {n}\n" for n in range(50))
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:review_imports"), {"file": SimpleUploadedFile("google.csv", content.encode())}
    )
    imp = ReviewImport.objects.get()
    response = client.post(
        response["Location"],
        {"text_column": "review", "rating_column": "stars", "external_id_column": "id",
         "source": "google", "rating_scale": "auto", "date_order": "auto"},
    )
    assert response.status_code == 302

    assert wait_until(lambda: ReviewImport.objects.get(pk=imp.pk).is_finished)
    imp.refresh_from_db()
    assert (imp.status, imp.rows_imported) == ("done", 50)
    assert Feedback.objects.filter(source="google").count() == 50


def test_import_task_survives_a_lost_worker():
    assert import_reviews_task.acks_late and import_reviews_task.reject_on_worker_lost
