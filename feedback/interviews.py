"""Customer interviews, their transcripts and the highlights kept from them as feedback."""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Feedback, Interview, InterviewHighlight
from .research import follow_session, said_at
from .services import record_feedback

TRANSCRIPT_EXTENSIONS = (".txt", ".md", ".markdown")
INTERVIEW_FIELDS = (
    "customer",
    "interviewer",
    "conducted_at",
    "product",
    "guide_questions",
    "notes",
    "transcript",
    "transcript_name",
)
# What the feedback of an interview's highlights takes from the interview.
FOLLOWED_FIELDS = ("customer", "product", "conducted_at")


def transcript_max_bytes() -> int:
    return getattr(settings, "INTERVIEW_TRANSCRIPT_MAX_BYTES", 1024 * 1024)


def normalise_transcript(text: str) -> str:
    """One newline convention and no outer blank lines, so offsets match what a page shows."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def decode_transcript(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, Windows-1252 (what Word and Notepad
    on Windows save: curly quotes and dashes in 0x80–0x9F), otherwise Latin-1, which never
    fails (it takes the five bytes Windows-1252 leaves undefined)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValidationError(
                {"transcript_file": ["The file says it is UTF-16 but is not."]}
            ) from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_transcript_upload(upload) -> tuple[str, str]:
    """The text and the file name of an uploaded .txt/.md transcript.

    Raises ``ValidationError`` on ``transcript_file`` for another extension, a file over
    the size limit, an empty file or binary content.
    """
    name = PurePath(upload.name or "").name[:255]
    if not name.lower().endswith(TRANSCRIPT_EXTENSIONS):
        raise ValidationError({"transcript_file": ["Upload a .txt or .md file."]})
    limit = transcript_max_bytes()
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            {"transcript_file": [f"The file is larger than {limit // 1024} KiB."]}
        )
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ValidationError(
            {"transcript_file": [f"The file is larger than {limit // 1024} KiB."]}
        )
    text = decode_transcript(raw)
    if "\x00" in text:
        raise ValidationError({"transcript_file": ["This does not look like a text file."]})
    text = normalise_transcript(text)
    if not text:
        raise ValidationError({"transcript_file": ["The file is empty."]})
    return text, name


def save_interview(*, interview: Interview | None = None, **values) -> Interview:
    """Create an interview (``interview=None``) or change the given fields of one.

    The transcript is normalised (newlines, outer blank lines). A transcript that already
    has highlights cannot be replaced by a different text: their offsets point into it.
    The feedback of the highlights follows a changed customer, product or date in the same
    transaction. Raises ``ValidationError`` with field messages.
    """
    unknown = set(values) - set(INTERVIEW_FIELDS)
    if unknown:
        raise TypeError(f"unknown interview fields: {sorted(unknown)}")
    interviewer = values.get("interviewer")
    if interviewer is not None and not interviewer.has_perm("feedback.change_interview"):
        raise ValidationError({"interviewer": ["This user cannot conduct interviews."]})
    if "transcript" in values:
        values["transcript"] = normalise_transcript(values["transcript"] or "")
        if "\x00" in values["transcript"]:
            raise ValidationError({"transcript": ["Text may not contain NUL characters."]})
    interview = interview or Interview()
    if (
        interview.pk
        and "transcript" in values
        and values["transcript"] != interview.transcript
        and interview.highlights.exists()
    ):
        raise ValidationError(
            {"transcript": ["Remove the highlights first: they point into this transcript."]}
        )
    for name, value in values.items():
        setattr(interview, name, value)
    if interview.customer_id is None:
        raise ValidationError({"customer": ["Choose the customer interviewed."]})
    if interview.conducted_at is None:
        raise ValidationError({"conducted_at": ["Give the date and time of the interview."]})
    interview.full_clean(exclude=["interviewer", "customer"])
    with transaction.atomic():
        is_new = interview.pk is None
        interview.save()
        if not is_new and set(FOLLOWED_FIELDS) & set(values):
            follow_session(
                Feedback.objects.filter(interview_highlight__interview=interview),
                session_time=interview.conducted_at,
                customer=interview.customer,
                product=interview.product,
            )
    return interview


def locate_excerpt(transcript: str, excerpt: str, start: int | None = None) -> tuple[int, int]:
    """Where ``excerpt`` lies in the transcript: at ``start`` if it is there, else the
    occurrence nearest to ``start`` (browsers count offsets in UTF-16 units, so an emoji
    before the selection shifts them), else the first. Raises ``ValidationError``."""
    if start is not None and 0 <= start and transcript[start : start + len(excerpt)] == excerpt:
        return start, start + len(excerpt)
    found = []
    position = transcript.find(excerpt)
    while position != -1 and len(found) < 1000:
        found.append(position)
        position = transcript.find(excerpt, position + 1)
    if not found:
        raise ValidationError({"excerpt": ["This text does not occur in the transcript."]})
    best = min(found, key=lambda p: abs(p - start)) if start is not None else found[0]
    return best, best + len(excerpt)


def add_interview_highlight(
    *,
    interview: Interview,
    excerpt: str,
    author: AbstractBaseUser | None,
    start: int | None = None,
    tags: Iterable[str] = (),
) -> InterviewHighlight:
    """Keep an excerpt of the transcript as feedback (channel interview).

    The excerpt must occur in the transcript (see ``locate_excerpt``); the feedback is
    linked to the interviewed customer and the interview's product. Raises
    ``ValidationError``; nothing is stored then.
    """
    excerpt = normalise_transcript(excerpt or "")
    if not excerpt:
        raise ValidationError({"excerpt": ["Select or paste a part of the transcript."]})
    if not interview.transcript:
        raise ValidationError({"excerpt": ["This interview has no transcript yet."]})
    begin, end = locate_excerpt(interview.transcript, excerpt, start)
    with transaction.atomic():
        feedback = record_feedback(
            channel=Feedback.Channel.INTERVIEW,
            source=interview.feedback_source,
            text=excerpt,
            received_at=said_at(interview.conducted_at),
            customer=interview.customer,
            product=interview.product,
            tags=tags,
        )
        return InterviewHighlight.objects.create(
            interview=interview, feedback=feedback, start=begin, end=end, author=author
        )


def delete_interview_highlight(*, highlight: InterviewHighlight) -> None:
    """Remove a highlight and the feedback it created."""
    Feedback.objects.filter(pk=highlight.feedback_id).delete()


def delete_interview(*, interview: Interview) -> None:
    """Delete an interview with the feedback its highlights created."""
    with transaction.atomic():
        Feedback.objects.filter(interview_highlight__interview=interview).delete()
        interview.delete()
