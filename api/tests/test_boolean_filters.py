"""Boolean filters on every list: true/false (1/0) filter, empty does not, anything else
is a 400 on the field instead of the whole list."""

import pytest

from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory
from surveys.tests.factories import make_survey

from .conftest import key_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/feedback/", "analysed"),
        ("/api/v1/products/", "active"),
        ("/api/v1/themes/", "pinned"),
        ("/api/v1/webhooks/", "active"),
        ("/api/v1/customization-requests/", "promoted"),
        ("QUESTIONS", "required"),
        ("QUESTIONS", "archived"),
    ],
)
def test_a_boolean_filter_that_is_neither_true_nor_false_is_a_400(url, name):
    if url == "QUESTIONS":
        url = f"/api/v1/surveys/{make_survey().pk}/questions/"
    client = key_client()

    for word in ("maybe", "yes", "2"):
        response = client.get(url, {name: word})
        assert response.status_code == 400, (url, name, word, response.content)
        assert response.json()["errors"][name] == ["Enter true or false."]
    for word in ("true", "false", "1", "0", ""):
        assert client.get(url, {name: word}).status_code == 200, (url, name, word)


def test_the_analysed_filter_still_filters():
    FeedbackFactory(text="done")
    pending = FeedbackFactory(text="waiting")
    Feedback.objects.exclude(pk=pending.pk).update(analysed_at="2026-01-01T00:00:00Z")
    Feedback.objects.filter(pk=pending.pk).update(analysed_at=None)
    client = key_client()

    def texts(value):
        body = client.get("/api/v1/feedback/", {"analysed": value}).json()
        return sorted(item["text"] for item in body["results"])

    assert texts("true") == ["done"] and texts("0") == ["waiting"]
    assert texts("") == ["done", "waiting"]
