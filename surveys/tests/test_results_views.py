import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from feedback.models import Feedback
from surveys import services
from surveys.models import Invitation
from surveys.tests.factories import InvitationFactory, make_survey

pytestmark = pytest.mark.django_db


def answer(survey, answers, **kwargs):
    return services.submit_response(survey=survey, answers=answers, channel="link", **kwargs)[0]


@pytest.fixture
def answered_survey():
    survey = make_survey(
        questions=[
            {"key": "nps", "kind": "nps", "text": "Recommend?", "required": True},
            {"key": "why", "kind": "short_text", "text": "Why?"},
            {"key": "plan", "kind": "single", "text": "Plan?", "choices": ["Free", "Pro"]},
        ]
    )
    answer(survey, {"nps": 10, "why": '=HYPERLINK("http://x")', "plan": "Pro"})
    answer(survey, {"nps": 9})
    answer(survey, {"nps": 3, "why": "Too slow", "plan": "Free"})
    answer(survey, {"nps": 7})
    return survey


def test_results_page_shows_nps_and_texts_with_sentiment(client, staff_member, answered_survey):
    Feedback.objects.filter(text="Too slow").update(sentiment_label="negative")
    client.force_login(staff_member)
    page = client.get(reverse("surveys:results", args=[answered_survey.pk]))
    assert page.status_code == 200
    [nps] = [s for s in page.context["summaries"] if s["key"] == "nps"]
    # 2 promoters, 1 passive, 1 detractor of 4 → 50 − 25 = 25.
    assert nps["nps"]["score"] == 25.0
    body = page.content.decode()
    assert "+25" in body
    assert "Too slow" in body and 'class="sentiment negative"' in body
    assert 'id="results-data"' in body and "survey_results.js" in body


def test_results_show_the_invitation_response_rate(client, staff_member, answered_survey):
    invitations = [InvitationFactory(survey=answered_survey) for _ in range(4)]
    answer(answered_survey, {"nps": 8}, invitation=invitations[0])
    InvitationFactory(survey=answered_survey, status=Invitation.Status.PENDING)
    client.force_login(staff_member)
    page = client.get(reverse("surveys:results", args=[answered_survey.pk]))
    assert page.context["invitations"]["invited"] == 4
    assert page.context["response_rate"] == 25.0


def test_csv_export_has_one_row_per_response_and_archived_columns(
    client, staff_member, answered_survey
):
    plan = answered_survey.questions.get(key="plan")
    services.update_question(question=plan, choices=["Free", "Pro", "Team"])
    answer(answered_survey, {"nps": 10, "plan_v2": "Team"})
    client.force_login(staff_member)
    page = client.get(reverse("surveys:export_csv", args=[answered_survey.pk]))
    assert page.status_code == 200 and page.streaming
    text = b"".join(page.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][5:] == ["nps", "why", "plan (archived)", "plan_v2"]
    assert len(rows) == 6
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["nps"] == "10" and first["plan (archived)"] == "Pro"
    assert first["why"].startswith("'=")  # formulas are neutralised
    last = dict(zip(rows[0], rows[5], strict=True))
    assert last["plan_v2"] == "Team" and last["plan (archived)"] == ""


def test_xlsx_export(client, manager, answered_survey):
    client.force_login(manager)
    page = client.get(reverse("surveys:export_xlsx", args=[answered_survey.pk]))
    assert page.status_code == 200
    sheet = load_workbook(io.BytesIO(page.content)).active
    values = list(sheet.values)
    assert values[0][5:] == ("nps", "why", "plan")
    assert len(values) == 5
    assert [r[5] for r in values[1:]] == [10, 9, 3, 7]


def test_xlsx_export_takes_answers_and_titles_with_control_characters(client, staff_member):
    """Text pasted from Word brings its line break (vertical tab) along; other control
    characters come with copied terminal output. An XLSX file cannot hold them."""
    survey = make_survey(
        title="Q4\x0bpulse",
        questions=[
            {"key": "why", "kind": "long_text", "text": "Why?"},
            {"key": "plan", "kind": "single", "text": "Plan?", "choices": ["A", "B"]},
            {"key": "note", "kind": "short_text", "text": "Note?"},
        ],
    )
    survey.questions.filter(key="plan").update(allow_other=True)
    answer(
        survey,
        {
            "why": "First line\x0bsecond line\x1b[0m",
            "plan": {"other": "\x02Team"},
            "note": "\x01=1+1",
        },
    )
    client.force_login(staff_member)

    page = client.get(reverse("surveys:export_xlsx", args=[survey.pk]))

    assert page.status_code == 200
    workbook = load_workbook(io.BytesIO(page.content))
    assert workbook.sheetnames == ["Q4 pulse"]
    sheet = workbook.active
    header, row = [list(r) for r in sheet.iter_rows(values_only=True)]
    values = dict(zip(header, row, strict=True))
    assert values["why"] == "First line\nsecond line[0m"
    assert values["plan"] == "Other: Team"
    assert values["note"] == "=1+1"  # text, not a formula, once the control character is gone
    assert all(cell.data_type != "f" for cell in next(sheet.iter_rows(min_row=2)))
    # The CSV keeps the text as it was given.
    text = b"".join(
        client.get(reverse("surveys:export_csv", args=[survey.pk])).streaming_content
    ).decode("utf-8-sig")
    assert "First line\x0bsecond line\x1b[0m" in text


def test_xlsx_export_keeps_answers_that_start_like_a_formula_as_text(client, staff_member):
    """A workbook cell holding text is never run, so the answers are given as written
    (the CSV, which a spreadsheet reads as it likes, puts a quote before them)."""
    survey = make_survey(questions=[{"key": "why", "kind": "short_text", "text": "Why?"}])
    texts = ["+1 for support", "-- slow", "@team thanks", '=HYPERLINK("http://x","y")']
    for text in texts:
        answer(survey, {"why": text})
    client.force_login(staff_member)

    page = client.get(reverse("surveys:export_xlsx", args=[survey.pk]))

    sheet = load_workbook(io.BytesIO(page.content)).active
    cells = [row[5] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == texts
    assert {cell.data_type for cell in cells} == {"s"}
    csv_text = b"".join(
        client.get(reverse("surveys:export_csv", args=[survey.pk])).streaming_content
    ).decode("utf-8-sig")
    assert [row[5] for row in list(csv.reader(io.StringIO(csv_text)))[1:]] == [
        f"'{text}" for text in texts
    ]


@pytest.mark.parametrize(
    "key", ["response_id", "submitted_at", "channel", "customer", "collected_by"]
)
def test_export_column_names_are_refused_as_question_keys(key):
    survey = make_survey(status="draft", questions=[])
    with pytest.raises(ValidationError) as exc:
        services.add_question(survey=survey, kind="short_text", text="Where?", key=key)
    assert exc.value.message_dict["key"] == [
        f'"{key}" is a column of the survey export; choose another key.'
    ]


def test_exports_label_a_question_keyed_like_a_fixed_column(client, staff_member):
    """Surveys built before such keys were refused keep them: their columns stay unique."""
    survey = make_survey(
        questions=[
            {"key": "where", "kind": "single", "text": "Where?", "choices": ["App", "Web"]},
            {"key": "who", "kind": "short_text", "text": "Who?"},
        ]
    )
    survey.questions.filter(key="where").update(key="channel")
    survey.questions.filter(key="who").update(key="customer")
    answer(survey, {"channel": "Web", "customer": "Ann"})
    client.force_login(staff_member)
    text = b"".join(
        client.get(reverse("surveys:export_csv", args=[survey.pk])).streaming_content
    ).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][2:] == [
        "channel",
        "customer",
        "collected_by",
        "channel (question)",
        "customer (question)",
    ]
    assert len(set(rows[0])) == len(rows[0])
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["channel"], row["channel (question)"], row["customer (question)"]) == (
        "link",
        "Web",
        "Ann",
    )
    sheet = load_workbook(
        io.BytesIO(client.get(reverse("surveys:export_xlsx", args=[survey.pk])).content)
    ).active
    assert list(next(sheet.values))[5:] == ["channel (question)", "customer (question)"]
