"""Interviews: transcripts (pasted or uploaded in any usual encoding), highlights as feedback."""

import codecs
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from feedback import interviews
from feedback.interview_views import transcript_segments
from feedback.models import Feedback, Interview, InterviewHighlight
from feedback.tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

TRANSCRIPT = (
    "Q: How do you export reports?\r\n"
    "A: Honestly the export is painful. I copy everything by hand.\r\n"
    "Q: And the mobile app?\r\n"
    "A: The mobile app is great, I use it daily. The export is painful there too."
)


@pytest.fixture
def interview(staff_member):
    return interviews.save_interview(
        customer=CustomerFactory(name="Bea"),
        interviewer=staff_member,
        conducted_at=timezone.now() - dt.timedelta(days=2),
        product=ProductFactory(slug="reports"),
        guide_questions="How do you export?\nWhat about mobile?",
        notes="",
        transcript=TRANSCRIPT,
    )


def test_transcript_is_stored_with_one_newline_convention(interview):
    assert "\r" not in interview.transcript
    assert interview.transcript.startswith("Q: How do you export")
    assert interview.guide_question_list == ["How do you export?", "What about mobile?"]


def test_highlight_becomes_interview_feedback_of_the_customer(interview, staff_member):
    excerpt = "the export is painful"
    start = interview.transcript.index(excerpt)

    highlight = interviews.add_interview_highlight(
        interview=interview, excerpt=excerpt, start=start, tags=["export"], author=staff_member
    )

    assert (highlight.start, highlight.end) == (start, start + len(excerpt))
    feedback = highlight.feedback
    assert (feedback.channel, feedback.customer, feedback.product, feedback.text) == (
        "interview",
        interview.customer,
        interview.product,
        excerpt,
    )
    assert feedback.source == f"interview-{interview.pk}"
    assert feedback.received_at == interview.conducted_at


def test_highlight_without_offset_or_with_a_shifted_one_finds_the_nearest_occurrence(interview):
    excerpt = "The export is painful"
    second = interview.transcript.rindex(excerpt)
    assert (
        interviews.add_interview_highlight(interview=interview, excerpt=excerpt, author=None).start
        == second
    )
    # A browser counting UTF-16 units reports a slightly different offset: nearest wins.
    shifted = interviews.add_interview_highlight(
        interview=interview, excerpt="export", start=second + 3, author=None
    )
    assert shifted.start == second + 4


def test_excerpt_not_in_the_transcript_is_refused_and_nothing_stored(interview):
    for excerpt in ("I love the export", "", "   "):
        with pytest.raises(ValidationError) as error:
            interviews.add_interview_highlight(interview=interview, excerpt=excerpt, author=None)
        assert "excerpt" in error.value.message_dict
    assert (Feedback.objects.count(), InterviewHighlight.objects.count()) == (0, 0)


def test_transcript_with_highlights_cannot_be_replaced(interview):
    interviews.add_interview_highlight(interview=interview, excerpt="great", author=None)
    with pytest.raises(ValidationError) as error:
        interviews.save_interview(interview=interview, transcript="Something else")
    assert "transcript" in error.value.message_dict
    # The same text (even with other newlines) is fine.
    interviews.save_interview(interview=interview, transcript=TRANSCRIPT, notes="Follow up in May")


def test_highlights_feedback_follows_the_interviews_customer_product_and_date(interview):
    kept = interviews.add_interview_highlight(interview=interview, excerpt="great", author=None)
    untouched_at = timezone.now() - dt.timedelta(days=9)
    other = interviews.save_interview(
        customer=CustomerFactory(name="Dan"), conducted_at=untouched_at, transcript="Fine."
    )
    untouched = interviews.add_interview_highlight(interview=other, excerpt="Fine.", author=None)
    new_customer, new_product = CustomerFactory(name="Cid"), ProductFactory(slug="mobile")
    earlier = timezone.now() - dt.timedelta(days=30)

    interviews.save_interview(
        interview=interview, customer=new_customer, product=new_product, conducted_at=earlier
    )

    feedback = Feedback.objects.get(pk=kept.feedback_id)
    assert (feedback.customer, feedback.product, feedback.received_at) == (
        new_customer,
        new_product,
        earlier,
    )
    # Moved after the moment the highlight was stored: said then, as a highlight of an
    # interview planned for later is, never in the future.
    interviews.save_interview(interview=interview, conducted_at=timezone.now() + dt.timedelta(1))
    feedback.refresh_from_db()
    assert feedback.received_at == feedback.created_at
    assert (feedback.customer, feedback.product) == (new_customer, new_product)
    other_feedback = Feedback.objects.get(pk=untouched.feedback_id)
    assert (other_feedback.customer.name, other_feedback.received_at) == ("Dan", untouched_at)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Café – naïve ✓".encode(), "Café – naïve ✓"),
        (codecs.BOM_UTF8 + "Café".encode(), "Café"),
        ("Café".encode("latin-1"), "Café"),
        ("Café".encode("utf-16"), "Café"),
        (
            b"I don\x92t like the \x93new\x94 checkout \x96 it\x92s slow.",
            "I don\u2019t like the \u201cnew\u201d checkout \u2013 it\u2019s slow.",
        ),
        # A byte Windows-1252 leaves undefined: Latin-1, which takes every byte.
        (b"Caf\xe9 \x81", "Caf\u00e9 \u0081"),
    ],
)
def test_uploaded_transcript_is_decoded(raw, expected):
    text, name = interviews.read_transcript_upload(SimpleUploadedFile("call.txt", raw))
    assert (text, name) == (expected, "call.txt")


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("call.pdf", b"text", "Upload a .txt or .md file."),
        ("call.md", b"", "The file is empty."),
        ("call.txt", b"\x00\x01\x02binary", "This does not look like a text file."),
    ],
)
def test_bad_transcript_uploads_are_refused(name, raw, message):
    with pytest.raises(ValidationError) as error:
        interviews.read_transcript_upload(SimpleUploadedFile(name, raw))
    assert error.value.message_dict["transcript_file"] == [message]


def test_oversized_transcript_is_refused(settings):
    settings.INTERVIEW_TRANSCRIPT_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as error:
        interviews.read_transcript_upload(SimpleUploadedFile("big.txt", b"a" * 1025))
    assert "larger than 1 KiB" in error.value.message_dict["transcript_file"][0]


def test_transcript_segments_mark_highlights_and_merge_overlaps():
    assert transcript_segments("abcdefgh", [(1, 3), (2, 5), (7, 8)]) == [
        ("a", False),
        ("bc", True),
        ("de", True),
        ("fg", False),
        ("h", True),
    ]


# --- Pages -----------------------------------------------------------------------------


def test_interviewee_picker_tells_namesakes_apart_and_consent_is_warned_about(client, staff_member):
    willing = CustomerFactory(name="Aiko Berg", email="aiko@shop.example", consent_research=True)
    unwilling = CustomerFactory(name="Aiko Berg", email="", department="Sales", internal=True)
    client.force_login(staff_member)
    form = client.get(reverse("feedback:interview_create")).context["form"]
    labels = dict(form.fields["customer"].choices)
    assert (labels[willing.pk], labels[unwilling.pk]) == (
        "Aiko Berg (aiko@shop.example)",
        "Aiko Berg (Sales) — no research consent",
    )

    def save(customer, url):
        values = {
            "customer": customer.pk,
            "interviewer": staff_member.pk,
            "conducted_at": "2025-02-01T09:30",
        }
        response = client.post(url, values, follow=True)
        return response, [(m.level_tag, str(m)) for m in response.context["messages"]]

    response, notes = save(unwilling, reverse("feedback:interview_create"))
    assert notes == [
        ("success", "Interview saved."),
        (
            "warning",
            "Aiko Berg (Sales) has not consented to research: make sure they agreed before "
            "you record what they say.",
        ),
    ]
    assert "no research consent" in response.content.decode()
    interview = Interview.objects.get()
    _, notes = save(willing, reverse("feedback:interview_edit", args=[interview.pk]))
    assert notes == [("success", "Interview saved.")]


def test_staff_uploads_a_latin1_transcript_and_keeps_a_pasted_highlight(client, staff_member):
    customer = CustomerFactory(name="Cem")
    client.force_login(staff_member)
    upload = SimpleUploadedFile(
        "cem.txt", "Ça marche, mais la facture arrive trop tard.".encode("latin-1")
    )
    response = client.post(
        reverse("feedback:interview_create"),
        {
            "customer": customer.pk,
            "interviewer": staff_member.pk,
            "conducted_at": "2025-02-01T09:30",
            "transcript": "",
            "transcript_file": upload,
        },
    )
    interview = Interview.objects.get()
    assert response.status_code == 302
    assert (interview.transcript, interview.transcript_name) == (
        "Ça marche, mais la facture arrive trop tard.",
        "cem.txt",
    )
    # The no-JavaScript way: paste the excerpt.
    url = reverse("feedback:interview_highlight_add", args=[interview.pk])
    response = client.post(url, {"excerpt": "la facture arrive trop tard", "tags": "billing"})
    assert response.status_code == 302
    assert Feedback.objects.get(channel="interview").customer == customer
    # A passage that is not in the transcript: a form error, nothing stored.
    response = client.post(url, {"excerpt": "tout va bien"})
    assert response.status_code == 400 and "excerpt" in response.context["form"].errors
    response = client.post(url, {"excerpt": "tout va bien"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "excerpt" in response.json()["errors"]
    assert Feedback.objects.count() == 1
    page = client.get(reverse("feedback:interview_detail", args=[interview.pk]))
    assert b"<mark>la facture arrive trop tard</mark>" in page.content


def test_bad_upload_on_the_form_is_a_field_error_not_a_500(client, staff_member):
    client.force_login(staff_member)
    response = client.post(
        reverse("feedback:interview_create"),
        {
            "customer": CustomerFactory().pk,
            "interviewer": staff_member.pk,
            "conducted_at": "2025-02-01T09:30",
            "transcript_file": SimpleUploadedFile("x.exe", b"MZ"),
        },
    )
    assert response.status_code == 400
    assert "transcript_file" in response.context["form"].errors
    assert Interview.objects.count() == 0


@pytest.mark.parametrize(
    ("actor", "read", "write"),
    [
        ("anonymous", "login", "login"),
        ("outsider", 403, 403),
        ("staff_member", 200, 200),
        ("manager", 200, 200),
    ],
)
def test_interview_pages_enforce_roles(client, request, interview, actor, read, write):
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    for url, expected in (
        (reverse("feedback:interviews"), read),
        (reverse("feedback:interview_detail", args=[interview.pk]), read),
        (reverse("feedback:interview_create"), write),
        (reverse("feedback:interview_edit", args=[interview.pk]), write),
    ):
        response = client.get(url)
        if expected == "login":
            assert response.status_code == 302 and "/login/" in response["Location"], url
        else:
            assert response.status_code == expected, url
    response = client.post(
        reverse("feedback:interview_highlight_add", args=[interview.pk]), {"excerpt": "great"}
    )
    assert InterviewHighlight.objects.exists() == (write == 200)
