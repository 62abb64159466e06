"""The cells of a review export: which column is what, ratings, dates, content keys.

Plain data in and out, no ORM: the import service turns the results into
``record_feedback`` arguments, and ``record_feedback`` has the last word on validity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime

# The feedback fields a column can feed, in the order the mapping form shows them.
MAPPABLE_FIELDS = ("text", "title", "rating", "external_id", "date", "author", "product")

# Header names seen in Google, Trustpilot (API and business export), App Store and Play exports, compared with
# everything but letters and digits removed ("Review Text", "review_text", "reviewText").
# Earlier names win; a column feeds one field at most.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "text": (
        "reviewtext", "review", "text", "content", "body", "comment", "reviewbody",
        "reviewcontent", "comments", "message", "feedback", "opinion",
    ),
    "title": ("title", "reviewtitle", "headline", "subject", "summary"),
    "rating": (
        "starrating", "stars", "rating", "score", "rate", "reviewrating", "overallrating",
        "ratingvalue", "reviewstars",
    ),
    "external_id": ("reviewid", "id", "externalid", "uuid", "guid", "reviewuuid"),
    "date": (
        "date", "reviewdate", "createdat", "createtime", "created", "createddate",
        "reviewsubmitdateandtime", "reviewsubmitmillissinceepoch", "submittedat",
        "publishedat", "publisheddate", "datepublished", "timestamp", "time", "at",
        "updatedat", "updatetime", "reviewcreatedutc", "reviewcreated",
    ),
    "author": (
        "author", "authorname", "reviewer", "reviewername", "reviewerdisplayname",
        "consumerdisplayname", "consumername", "username", "user", "reviewernickname",
        "nickname", "displayname", "customername", "name",
    ),
    "product": ("product", "productname", "productslug", "app", "appname"),
}
# Without a recognised text header, the column with the longest values is the text if
# they average at least this many characters.
TEXT_FALLBACK_MIN_CHARS = 20

RATING_SCALES: dict[str, tuple[int, int]] = {
    "1-5": (1, 5),
    "0-5": (0, 5),
    "1-10": (1, 10),
    "0-10": (0, 10),
    "0-100": (0, 100),
}

_RATING_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_NO_RATING = {"star_rating_unspecified", "n/a", "na", "none", "-"}
# "4", "4,5", "4/5", "4 out of 5", "4 out of 5 stars", "4 stars", "4★", "80%".
_RATING = re.compile(
    r"^([+-]?\d+(?:[.,]\d+)?)\s*"
    r"(?:(?:/|out\s+of)\s*\d+(?:[.,]\d+)?(?:\s*stars?)?|stars?|★|%)?$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_NUMERIC_DATE = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)
# Year first, with slashes, dots or dashes, the month and day with or without a zero:
# "2024/3/5", "2024.03.05", "2024-3-5 14:05" (ISO needs the zeros).
_YMD_SLASH = re.compile(
    r"^(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_EPOCH = re.compile(r"^\d{9,14}(?:\.\d+)?$")
# "2024-01-05 10:00:00 UTC" (Trustpilot's business export): a naive time said to be UTC.
_UTC_SUFFIX = re.compile(r"\s+(?:UTC|GMT)$", re.IGNORECASE)
_TEXT_DATE_FORMATS = (
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y",
    "%d %b %Y %H:%M", "%d %B %Y %H:%M", "%b %d, %Y %H:%M", "%B %d, %Y %H:%M",
    "%b %d, %Y, %I:%M %p", "%B %d, %Y, %I:%M %p",
)


def _compact(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def guess_mapping(columns: list[str], profiles: dict[str, dict] | None = None) -> dict[str, str]:
    """Feedback field → column, from the header names (and value lengths, for the text)."""
    compact = {column: _compact(column) for column in columns}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for field_name in MAPPABLE_FIELDS:
        for alias in HEADER_ALIASES[field_name]:
            column = next((c for c in columns if compact[c] == alias and c not in used), None)
            if column is not None:
                mapping[field_name] = column
                used.add(column)
                break
    if "text" not in mapping and profiles:
        lengths = {
            column: profile["chars"] / profile["filled"]
            for column, profile in profiles.items()
            if column not in used and profile.get("filled") and not profile.get("numbers")
        }
        if lengths:
            longest = max(lengths, key=lengths.__getitem__)
            if lengths[longest] >= TEXT_FALLBACK_MIN_CHARS:
                mapping["text"] = longest
    return mapping


_SOURCE_HINTS = (
    ("trustpilot", "trustpilot"),
    ("googleplay", "google-play"),
    ("playstore", "google-play"),
    ("reviewsreviews", "google-play"),  # Play Console names its files reviews_reviews_<app>_…
    ("appstore", "app-store"),
    ("itunes", "app-store"),
    ("google", "google"),
    ("yelp", "yelp"),
    ("tripadvisor", "tripadvisor"),
    ("amazon", "amazon"),
)


def guess_source(filename: str) -> str:
    """A source name suggested by the file's name ("trustpilot-export.csv" → "trustpilot")."""
    compact = _compact(filename)
    return next((source for hint, source in _SOURCE_HINTS if hint in compact), "")


# --- Ratings --------------------------------------------------------------------------


def clean_rating(raw: str) -> str:
    """A rating as a plain number: "4,5" → "4.5", "4/5" and "4 out of 5" → "4", "80%" →
    "80", "FOUR" → "4", "★★★★☆" → "4".

    Anything else comes back as it was, for ``record_feedback`` to refuse with its own
    message; an empty or "unspecified" rating comes back as "".
    """
    value = raw.strip()
    lowered = value.lower()
    if not value or lowered in _NO_RATING:
        return ""
    if lowered in _RATING_WORDS:
        return str(_RATING_WORDS[lowered])
    if set(value) <= {"★", "☆"}:
        return str(value.count("★"))
    match = _RATING.match(value)
    if match:
        return match.group(1).replace(",", ".")
    return value


def detect_rating_scale(profile: dict | None) -> str | None:
    """The key of ``RATING_SCALES`` the numbers of a column fit, or None."""
    if not profile or not profile.get("numbers"):
        return None
    low, high = profile["low"], profile["high"]
    if low < 0:
        return None
    if high <= 5:
        return "0-5" if low < 1 else "1-5"
    if high <= 10:
        return "0-10" if low < 1 else "1-10"
    if high <= 100:
        return "0-100"
    return None


# --- Dates ----------------------------------------------------------------------------


def detect_date_order(profile: dict | None) -> str | None:
    """"dmy" or "mdy" when the column's slash dates show it (a part above 12), else None."""
    if not profile:
        return None
    day_first, month_first = profile.get("day_first", 0), profile.get("month_first", 0)
    if day_first and not month_first:
        return "dmy"
    if month_first and not day_first:
        return "mdy"
    return None


def parse_review_date(raw: str, date_order: str = "dmy") -> dt.datetime | None:
    """An aware datetime from an export's date; None when empty; naive times are UTC.

    Reads ISO 8601, "YYYY-MM-DD", "DD/MM/YYYY" or "MM/DD/YYYY" (by ``date_order``),
    "YYYY/MM/DD" (also "YYYY-M-D"), "Jan 5, 2024", RFC 2822 and epoch seconds or milliseconds, each of the
    naive ones also with " UTC" after it. Raises ``ValueError`` with a message for people
    otherwise.
    """
    value = raw.strip()
    if not value:
        return None
    try:
        parsed = _parse_date(value, date_order)
    except (ValueError, OverflowError, OSError):
        parsed = None
    bare = _UTC_SUFFIX.sub("", value)
    if parsed is None and bare != value:
        try:
            parsed = _parse_date(bare, date_order)
        except (ValueError, OverflowError, OSError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            parsed = None  # "+02:00 UTC" says two things
    if parsed is None:
        raise ValueError(f"Unrecognised date “{value[:40]}”.")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        # In UTC: PostgreSQL refuses offsets past ±15:59, which ISO 8601 allows.
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"Unrecognised date “{value[:40]}”.") from None


def _parse_date(value: str, date_order: str) -> dt.datetime | None:
    if _EPOCH.match(value):
        seconds = float(value)
        if len(value.split(".")[0]) >= 12:
            seconds /= 1000
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        pass
    match = _NUMERIC_DATE.match(value)
    if match:
        first, second, year, hour, minute, sec, ampm = match.groups()
        day, month = (first, second) if date_order == "dmy" else (second, first)
        return _datetime(year, month, day, hour, minute, sec, ampm)
    match = _YMD_SLASH.match(value)
    if match:
        year, _, month, day, hour, minute, sec = match.groups()
        return _datetime(year, month, day, hour, minute, sec, None)
    for date_format in _TEXT_DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, date_format)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _datetime(year, month, day, hour, minute, second, ampm) -> dt.datetime:
    year = int(year)
    if year < 100:
        year += 2000
    hour = int(hour or 0)
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("hour")
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    return dt.datetime(year, int(month), int(day), hour, int(minute or 0), int(second or 0))


# --- Content key ----------------------------------------------------------------------


def content_key(*, source: str, text: str, received_at: dt.datetime | None, author: str) -> str:
    """The external id of a review whose export has no id: the same review, the same key."""
    normalised = " ".join(text.split()).casefold()
    when = received_at.astimezone(dt.UTC).isoformat() if received_at else ""
    material = "\x1f".join([source, normalised, when, " ".join(author.split()).casefold()])
    return "sha256:" + hashlib.sha256(material.encode()).hexdigest()


# --- Column profiles ------------------------------------------------------------------


@dataclass
class ColumnProfile:
    """What the first rows of a column look like: enough to guess scales and date orders."""

    filled: int = 0
    chars: int = 0
    numbers: int = 0
    low: float | None = None
    high: float | None = None
    day_first: int = 0
    month_first: int = 0

    def add(self, value: str) -> None:
        value = value.strip()
        if not value:
            return
        self.filled += 1
        self.chars += len(value)
        number = clean_rating(value) if len(value) <= 12 else ""
        if number and _NUMBER.match(number):
            amount = float(number)
            self.numbers += 1
            self.low = amount if self.low is None else min(self.low, amount)
            self.high = amount if self.high is None else max(self.high, amount)
            return
        match = _NUMERIC_DATE.match(value)
        if match:
            first, second = int(match.group(1)), int(match.group(2))
            self.day_first += first > 12
            self.month_first += second > 12

    def as_dict(self) -> dict:
        return asdict(self)
