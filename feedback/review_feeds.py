"""Reading review feeds: fetch with a timeout and a size cap, parse JSON or RSS/Atom into
plain items. No ORM here; ``feedback.review_sources`` stores the items."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import html
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import feedparser
from django.utils.dateparse import parse_datetime
from django.utils.html import strip_tags

from .review_import.values import clean_rating

USER_AGENT = "FocusLoop review poller (+https://focusloop.example/sources)"
ALLOWED_SCHEMES = ("http://", "https://")

# Where a plain JSON array's items usually keep each field; a source's mapping wins.
DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "id": ("id", "review_id", "reviewId", "guid", "url"),
    "text": (
        "content_text",
        "text",
        "content",
        "review",
        "body",
        "comment",
        "content_html",
        "summary",
    ),
    "title": ("title",),
    "rating": ("rating", "stars", "score", "_review.rating"),
    "date": ("date_published", "date", "created_at", "published", "time", "date_modified"),
    "author": ("author.name", "authors.0.name", "author", "user", "reviewer"),
}
MAPPABLE_FIELDS = ("items", *DEFAULT_PATHS)


class FeedError(Exception):
    """The feed could not be fetched or read; the message is shown to staff."""


@dataclass(frozen=True)
class FeedItem:
    external_id: str
    text: str
    rating: Decimal | None = None
    published: dt.datetime | None = None
    author: str = ""


def check_public_host(url: str) -> None:
    """Refuse URLs whose host resolves to a loopback, private, link-local (cloud metadata)
    or otherwise non-public address: a feed URL must not reach inside our network."""
    host = urlsplit(url).hostname
    if not host:
        raise FeedError("The feed URL has no host.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError) as exc:
        raise FeedError(f"The feed could not be reached: {exc}.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise FeedError(f"The feed host {host} is not a public address.")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(ALLOWED_SCHEMES):
            raise FeedError("The feed redirected to a URL that is not http or https.")
        if not self.allow_private:
            check_public_host(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, timeout: float, max_bytes: int, allow_private: bool = False) -> bytes:
    """The body at ``url``; raises ``FeedError`` on a network error, a status other than
    2xx, a body over ``max_bytes``, a scheme other than http(s), or (unless
    ``allow_private``) a host or redirect target that is not a public address."""
    if not url.lower().startswith(ALLOWED_SCHEMES):
        raise FeedError("Only http and https feed URLs can be polled.")
    if not allow_private:
        check_public_host(url)
    opener = urllib.request.build_opener(_CheckedRedirects(allow_private))
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/feed+json, application/json, application/rss+xml, "
            "application/atom+xml, application/xml;q=0.9, */*;q=0.5",
        },
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise FeedError(f"The feed answered HTTP {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        raise FeedError(f"The feed could not be reached: {exc.reason}.") from None
    except (TimeoutError, OSError) as exc:
        raise FeedError(f"The feed could not be read: {exc}.") from None
    if len(body) > max_bytes:
        raise FeedError(f"The feed is larger than {max_bytes // 1024} KiB.")
    return body


def content_id(*parts: str) -> str:
    """An id for items that carry none: the same content always gives the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:56]}"


def _plain(value) -> str:
    """A plain-text field as written: "<3" and "&amp;" are words there (pages escape)."""
    return "" if value is None else str(value).strip()


def _html_text(value) -> str:
    """The text of an HTML field: tags removed, entities decoded."""
    if value is None:
        return ""
    return html.unescape(strip_tags(str(value))).strip()


def _is_html_path(path: str | None) -> bool:
    # JSON Feed's content_html, and a mapped path named the same way (review.body_html).
    return bool(path) and path.rsplit(".", 1)[-1].lower().endswith("html")


def _rating(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    # Written out as in a review file ("4/5", "4 out of 5", "FOUR", "★★★★☆", "80%").
    text = clean_rating(value) if isinstance(value, str) else str(value)
    try:
        rating = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return rating if rating.is_finite() else None


def _date(value) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = parse_datetime(str(value).strip())
    except ValueError:
        return None
    if parsed is None:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            return None
        parsed = dt.datetime(day.year, day.month, day.day)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        # In UTC: PostgreSQL refuses offsets past ±15:59, which ISO 8601 allows.
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        return None


def _lookup(item, path: str):
    value = item
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


def _first_found(item, field: str, mapping: dict[str, str]) -> tuple[str | None, object]:
    """The path of the first usual (or the mapped) place that holds ``field``, and its value."""
    paths = (mapping[field],) if mapping.get(field) else DEFAULT_PATHS[field]
    for path in paths:
        value = _lookup(item, path)
        if value not in (None, "", [], {}):
            return path, value
    return None, None


def _first(item, field: str, mapping: dict[str, str]):
    return _first_found(item, field, mapping)[1]


def _item(
    text: str, title: str, external_id: str, rating, published, author: str
) -> FeedItem | None:
    """An item from its fields, the text and title already turned into plain text."""
    if title and text and not text.startswith(title):
        text = f"{title}\n\n{text}"
    text = text or title
    if not text:
        return None
    author = author.strip() if isinstance(author, str) else ""
    published_iso = published.isoformat() if published else ""
    return FeedItem(
        external_id=str(external_id)[:200]
        if external_id not in (None, "")
        else content_id(text, published_iso, author),
        text=text,
        rating=_rating(rating),
        published=published,
        author=author[:200],
    )


def parse_json(body: bytes, mapping: dict[str, str] | None = None) -> list[FeedItem]:
    """JSON Feed 1.1 (``{"items": [...]}``) or a plain array of objects.

    ``mapping`` names a dotted path per field (``items``, ``id``, ``text``, ``title``,
    ``rating``, ``date``, ``author``); fields left out use the usual names. Items
    without text are left out. Fields are plain text, kept as written, except HTML ones
    (``content_html``, or a mapped path ending in ``html``), whose tags are removed.
    """
    mapping = mapping or {}
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"The feed is not valid JSON: {exc}.") from None
    if mapping.get("items"):
        items = _lookup(document, mapping["items"])
    elif isinstance(document, dict):
        items = document.get("items")
    else:
        items = document
    if not isinstance(items, list):
        raise FeedError("The feed has no list of items (set the items path in the mapping).")
    out = []
    for entry in items:
        if not isinstance(entry, dict):
            continue
        text_path, text = _first_found(entry, "text", mapping)
        item = _item(
            text=_html_text(text) if _is_html_path(text_path) else _plain(text),
            title=_plain(_first(entry, "title", mapping)),
            external_id=_first(entry, "id", mapping),
            rating=_first(entry, "rating", mapping),
            published=_date(_first(entry, "date", mapping)),
            author=_first(entry, "author", mapping) or "",
        )
        if item is not None:
            out.append(item)
    return out


def parse_rss_atom(body: bytes) -> list[FeedItem]:
    """RSS 0.9x/1.0/2.0 or Atom, through feedparser (which never fetches anything here).

    Summaries, descriptions and titles marked as HTML lose their tags; plain-text ones and
    author names are kept as written."""
    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"The feed is not valid RSS or Atom: {parsed.get('bozo_exception')}.")
    if not parsed.entries and not parsed.get("feed"):
        raise FeedError("The feed is not valid RSS or Atom.")
    out = []
    for entry in parsed.entries:
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = dt.datetime.fromtimestamp(calendar.timegm(stamp), tz=dt.UTC) if stamp else None
        item = _item(
            text=_feed_text(entry, "summary") or _feed_text(entry, "description"),
            title=_feed_text(entry, "title"),
            external_id=entry.get("id") or entry.get("link"),
            rating=entry.get("rating") or entry.get("review_rating"),
            published=published,
            author=entry.get("author", ""),
        )
        if item is not None:
            out.append(item)
    return out


def _feed_text(entry, key: str) -> str:
    # feedparser copies an Atom entry's content into a missing summary, without its detail.
    detail = entry.get(f"{key}_detail") or (key == "summary" and (entry.get("content") or [{}])[0])
    detail = detail or {}
    if detail.get("type", "text/html") == "text/plain":
        return _plain(entry.get(key))
    return _html_text(entry.get(key))


def parse(kind: str, body: bytes, mapping: dict[str, str] | None = None) -> list[FeedItem]:
    if kind == "json_feed":
        return parse_json(body, mapping)
    if kind == "rss_atom":
        return parse_rss_atom(body)
    raise FeedError(f"Unknown feed kind {kind!r}.")
