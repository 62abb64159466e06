"""Reading review exports: encoding, format, CSV dialect and one record at a time.

Plain data in and out, no ORM. The same record iterator serves the upload check (which
counts and profiles the rows and shows a preview) and the import itself, so both agree
on every row and line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from .values import ColumnProfile

CSV_DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024
# Records read to choose a dialect, and to detect rating scales and date orders.
DIALECT_SAMPLE_RECORDS = 50
PROFILE_RECORDS = 20_000
PREVIEW_RECORDS = 10
PREVIEW_CELL_CHARS = 200
MAX_COLUMNS = 200
JSON_LIST_KEYS = ("reviews", "data", "items", "results")


class UnreadableFile(ValueError):
    """The upload is not a CSV or JSON export we can read; the message says why."""


@dataclass(frozen=True)
class Record:
    """One row of the export: its values by column, or the problem that spoils it."""

    line: int
    values: dict[str, str] | None
    problem: str = ""


@dataclass
class FileFacts:
    file_format: str
    encoding: str
    csv_dialect: dict
    columns: list[str]
    preview_rows: list[list[str]] = field(default_factory=list)
    column_profiles: dict[str, dict] = field(default_factory=dict)
    rows_total: int = 0


# --- Encoding and format ------------------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """The encoding of an export: a BOM wins, then UTF-8, then Windows-1252/Latin-1."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bomless_utf16 = _bomless_utf16(data[:4096])
    if bomless_utf16:
        return bomless_utf16
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    try:
        # Spreadsheet exports labelled "Latin-1" are nearly always Windows-1252: its curly
        # quotes and dashes sit where Latin-1 has invisible control characters.
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _bomless_utf16(sample: bytes) -> str | None:
    """ASCII-heavy UTF-16 has a NUL in every other byte."""
    if len(sample) < 8:
        return None
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def decode(data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"The file could not be read as {encoding}: {exc.reason}.") from None
    if "\x00" in text:
        raise UnreadableFile("This is not a text file. Export the reviews as CSV or JSON.")
    return text.removeprefix("\ufeff")


def detect_format(filename: str, text: str) -> str:
    """``csv`` or ``json``: the extension decides, a ``.txt`` file by its first character."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "json":
        return "json"
    if suffix == "csv":
        return "csv"
    return "json" if text.lstrip()[:1] in ("[", "{") else "csv"


# --- CSV ------------------------------------------------------------------------------


def detect_csv_dialect(sample: str) -> dict:
    """The delimiter and quoting of a CSV sample, as a dict ``csv.reader`` accepts.

    ``csv.Sniffer`` is tried first; it guesses wrong now and then (a comma inside quoted
    text, a semicolon export), so every guess must give the header's width to nearly every
    sampled row, and the plain delimiters are tried after it.
    """
    if len(sample) >= SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rfind("\n") + 1]  # no half row at the end
    candidates: list[dict] = []
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS)
    except csv.Error:
        pass
    else:
        candidates.append(
            {
                "delimiter": sniffed.delimiter,
                "quotechar": sniffed.quotechar or '"',
                # The sniffer says "doubled quotes" only when its sample shows one, but an
                # export doubles every quote inside a quoted field (RFC 4180) wherever it
                # comes: a row past the sample must read ""wow"" as "wow" too.
                "doublequote": True,
                "skipinitialspace": bool(sniffed.skipinitialspace),
            }
        )
    for delimiter in CSV_DELIMITERS:
        candidates.append(
            {"delimiter": delimiter, "quotechar": '"', "doublequote": True, "skipinitialspace": False}
        )
    best, best_score = candidates[-len(CSV_DELIMITERS)], (False, 0.0)
    for candidate in candidates:
        score = _dialect_score(sample, candidate)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _dialect_score(sample: str, dialect: dict) -> tuple[bool, float]:
    try:
        rows = [
            row
            for _, row in zip(
                range(DIALECT_SAMPLE_RECORDS), csv.reader(io.StringIO(sample), **dialect), strict=False
            )
            if row
        ]
    except csv.Error:
        return (False, 0.0)
    if not rows or len(rows[0]) < 2:
        return (False, 0.0)
    width = len(rows[0])
    consistent = sum(1 for row in rows if len(row) == width) / len(rows)
    return (consistent >= 0.9, consistent)


def _csv_records(stream: IO[str], dialect: dict) -> tuple[list[str], Iterator[Record]]:
    reader = csv.reader(stream, **dialect)
    try:
        header = next(row for row in reader if any(cell.strip() for cell in row))
    except StopIteration:
        raise UnreadableFile("The file has no header row.") from None
    except csv.Error as exc:
        raise UnreadableFile(f"Malformed CSV on line {reader.line_num}: {exc}.") from None
    columns = _unique_names(header)

    def records() -> Iterator[Record]:
        width = len(columns)
        previous_end = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise UnreadableFile(
                    f"Malformed CSV on line {previous_end + 1}: {exc}."
                ) from None
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines and ",,,," rows left by spreadsheets
            if len(row) > width and not any(cell.strip() for cell in row[width:]):
                row = row[:width]
            if len(row) != width:
                yield Record(line, None, f"Expected {width} fields, found {len(row)}.")
            else:
                yield Record(line, dict(zip(columns, row, strict=True)))

    return columns, records()


def _unique_names(header: list[str]) -> list[str]:
    names: list[str] = []
    for index, raw in enumerate(header, start=1):
        name = raw.strip().lstrip("\ufeff").strip() or f"column {index}"
        candidate, n = name, 2
        while candidate in names:
            candidate, n = f"{name} ({n})", n + 1
        names.append(candidate)
    if len(names) > MAX_COLUMNS:
        raise UnreadableFile(f"The file has {len(names)} columns; at most {MAX_COLUMNS} are read.")
    return names


# --- JSON -----------------------------------------------------------------------------


def _json_items(text: str) -> list:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _json_lines(text)
        raise UnreadableFile(
            f"Malformed JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}."
        ) from None
    except RecursionError:
        raise UnreadableFile("The JSON is nested too deeply.") from None
    if isinstance(document, dict):
        for key in JSON_LIST_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
    if isinstance(document, list):
        return document
    raise UnreadableFile('Expected a list of reviews, or an object with a "reviews" list.')


def _json_lines(text: str) -> list:
    """JSON Lines: one object per line."""
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise UnreadableFile(f"Malformed JSON on line {number}: {exc.msg}.") from None
    return items


def flatten(item: dict, prefix: str = "") -> dict[str, str]:
    """``{"reviewer": {"name": "Ann"}}`` → ``{"reviewer.name": "Ann"}``; every value a string."""
    out: dict[str, str] = {}
    for key, value in item.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        elif isinstance(value, list):
            out[name] = json.dumps(value, ensure_ascii=False) if value else ""
        elif value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def _json_records(text: str) -> tuple[list[str], Iterator[Record]]:
    items = _json_items(text)
    # Each item is flattened twice (for the columns, then as its record) rather than
    # holding every flattened row at once.
    columns: dict[str, None] = {}
    try:
        for item in items:
            if isinstance(item, dict):
                columns.update(dict.fromkeys(flatten(item)))
                if len(columns) > MAX_COLUMNS:
                    raise UnreadableFile(f"The reviews have more than {MAX_COLUMNS} distinct keys.")
    except RecursionError:
        raise UnreadableFile("The JSON is nested too deeply.") from None
    if not columns:
        raise UnreadableFile("The JSON holds no review objects.")
    names = list(columns)

    def records() -> Iterator[Record]:
        for position, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                yield Record(position, None, "This item is not an object.")
                continue
            values = flatten(item)
            if values:
                yield Record(position, {name: values.get(name, "") for name in names})

    return names, records()


# --- Both -----------------------------------------------------------------------------


def open_records(
    binary: IO[bytes], *, file_format: str, encoding: str, csv_dialect: dict
) -> tuple[list[str], Iterator[Record]]:
    """Columns and records of a stored export; CSV is streamed, JSON is read whole."""
    if file_format == "json":
        return _json_records(decode(binary.read(), encoding))
    stream = io.TextIOWrapper(binary, encoding=encoding, newline="")
    return _csv_records(stream, csv_dialect)


def inspect(data: bytes, filename: str) -> FileFacts:
    """Everything the mapping page needs to know about an upload, reading it once.

    Raises ``UnreadableFile`` with a message for people when it is not a readable export.
    """
    if not data.strip():
        raise UnreadableFile("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        raise UnreadableFile("This looks like a spreadsheet (.xlsx). Save it as CSV first.")
    encoding = detect_encoding(data)
    text = decode(data, encoding)
    file_format = detect_format(filename, text)
    dialect: dict = {}
    if file_format == "json":
        columns, records = _json_records(text)
    else:
        dialect = detect_csv_dialect(text[:SNIFF_BYTES])
        del text  # read again as a stream, exactly as the import will read it
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
        columns, records = _csv_records(stream, dialect)
    facts = FileFacts(file_format=file_format, encoding=encoding, csv_dialect=dialect, columns=columns)
    profiles = {name: ColumnProfile() for name in columns}
    for record in records:
        facts.rows_total += 1
        if record.values is None:
            continue
        if len(facts.preview_rows) < PREVIEW_RECORDS:
            facts.preview_rows.append(
                [record.values[name][:PREVIEW_CELL_CHARS] for name in columns]
            )
        if facts.rows_total <= PROFILE_RECORDS:
            for name, value in record.values.items():
                profiles[name].add(value)
    if not facts.rows_total:
        raise UnreadableFile("The file has a header but no reviews.")
    if not facts.preview_rows:
        raise UnreadableFile(
            f"No row has the {len(columns)} fields of the header: the file is not a readable "
            "CSV export (an unclosed quote, or another separator on some lines?)."
        )
    facts.column_profiles = {name: profile.as_dict() for name, profile in profiles.items()}
    return facts
