"""CSV downloads of the dashboard's tables, streamed row by row.

Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) are prefixed with a single quote, so a theme or
segment name typed by someone cannot run in the manager's spreadsheet. Numbers are
written as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse
from django.utils.text import slugify

from feedback.csv_safety import neutralise_formula


def safe_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    return neutralise_formula(str(value))


class _Echo:
    """A file-like object whose write returns the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_response(name: str, header: list[str], rows: Iterable[list]) -> StreamingHttpResponse:
    """A streamed CSV attachment named after ``name``."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"  # spreadsheets then read the file as UTF-8
        yield writer.writerow([safe_cell(cell) for cell in header])
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(name) or "export"}.csv"'
    return response
