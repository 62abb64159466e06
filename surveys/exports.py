"""CSV and XLSX exports of a survey: one row per response, one column per question key.

Archived versions of edited questions keep their own column (labelled "(archived)"), so
old answers export exactly as they were given.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from feedback.csv_safety import neutralise_formula
from feedback.privacy import masked_for_processing

from .models import Question, Response
from .question_types import OTHER, question_type

FIXED_COLUMNS = ["response_id", "submitted_at", "channel", "customer", "collected_by"]


def header(questions: list[Question]) -> list[str]:
    """The column names, each once: a question keyed like a fixed column (allowed before
    such keys were refused) is labelled "(question)"."""
    return FIXED_COLUMNS + [_column(q) for q in questions]


def _column(question: Question) -> str:
    if question.archived_at:
        return f"{question.key} (archived)"
    if question.key in FIXED_COLUMNS:
        return f"{question.key} (question)"
    return question.key


def cell_value(question: Question, answer) -> object:
    if answer is None:
        return ""
    family = question_type(question.kind).family
    if family == "scale":
        return int(answer.number) if answer.number is not None else ""
    if family == "yes_no":
        return "yes" if answer.number == 1 else "no"
    if family in ("choice", "multiple"):
        text = masked_for_processing(answer.text)
        parts = [f"{OTHER}: {text}" if c == OTHER and text else c for c in answer.choices]
        return "; ".join(parts)
    return masked_for_processing(answer.text)


def rows(questions: list[Question], responses: Iterable[Response]) -> Iterator[list]:
    for response in responses:
        answers = {a.question_id: a for a in response.answers.all()}
        yield [
            response.pk,
            response.submitted_at.isoformat(),
            response.channel,
            str(response.customer) if response.customer_id else "",
            response.collected_by.get_username() if response.collected_by_id else "",
            *[cell_value(q, answers.get(q.pk)) for q in questions],
        ]


class _Echo:
    def write(self, value):
        return value


def csv_lines(questions: list[Question], responses: Iterable[Response]) -> Iterator[str]:
    """CSV text line by line (for a streaming response), with a BOM for spreadsheet apps."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header(questions))
    for row in rows(questions, responses):
        yield writer.writerow([neutralise_formula(v) for v in row])


# Word's line and page breaks (vertical tab, form feed) pasted into an answer: kept as
# line breaks in the workbook.
_BREAKS = {"\x0b", "\x0c"}


def _xlsx_cell(sheet, value):
    """``value`` as a workbook cell: text without the control characters an XLSX file
    cannot hold (XML forbids them; openpyxl refuses them; a paste may bring any), and
    stored as text even when it starts like a formula. A text cell is never run, so
    unlike the CSV it needs no leading quote: "+1 for support" stays as written."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub(lambda m: "\n" if m.group() in _BREAKS else "", value)
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl takes "=…" for a formula
    return cell


def xlsx_bytes(title: str, questions: list[Question], responses: Iterable[Response]) -> bytes:
    workbook = Workbook(write_only=True)
    title = ILLEGAL_CHARACTERS_RE.sub(" ", title).strip()
    sheet = workbook.create_sheet(
        title=(title[:31] or "Responses").translate(str.maketrans("[]:*?/\\", "       "))
    )
    sheet.append(header(questions))
    for row in rows(questions, responses):
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
