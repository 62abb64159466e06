"""Review sources polled from a real HTTP server on 127.0.0.1: items stored once, failures
recorded with back-off, recovery imports only what is new."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import create_api_key
from feedback import review_feeds, review_sources
from feedback.models import Feedback, ReviewSource
from feedback.tasks import poll_due_review_sources_task, poll_review_source_task
from feedback.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


class FeedServer:
    """A tiny feed host: ``reply`` is what the next requests get (status, type, body)."""

    def __init__(self):
        self.reply = (200, "application/json", b"[]")
        self.requests = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                feed.requests += 1
                status, content_type, body = feed.reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/feed") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def serve_json(self, document) -> None:
        self.reply = (200, "application/feed+json", json.dumps(document).encode())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server(settings):
    # The test feeds live on 127.0.0.1, which production refuses (see the SSRF test).
    settings.REVIEW_SOURCE_ALLOW_PRIVATE_HOSTS = True
    server = FeedServer()
    yield server
    server.close()


def json_feed(*items):
    return {"version": "https://jsonfeed.org/version/1.1", "title": "Reviews", "items": list(items)}


def review(n: int, text: str, rating=None):
    item = {
        "id": f"r-{n}",
        "content_text": text,
        "date_published": f"2025-01-0{n}T10:00:00Z",
        "authors": [{"name": f"Reviewer {n}"}],
    }
    if rating is not None:
        item["_review"] = {"rating": rating}
    return item


def make_source(url: str, **values) -> ReviewSource:
    return review_sources.save_review_source(
        name=values.pop("name", "App store"),
        kind=values.pop("kind", "json_feed"),
        url=url,
        interval_minutes=values.pop("interval_minutes", 30),
        **values,
    )


def test_feed_polled_then_failing_then_recovering(feed_server):
    product = ProductFactory(slug="mobile-app")
    source = make_source(feed_server.url(), product=product)
    assert source.slug == "app-store" and source.next_poll_at is not None

    # 1. Two reviews served: both stored as review feedback.
    feed_server.serve_json(json_feed(review(1, "Crashes on start", 1), review(2, "Works well", 5)))
    result = review_sources.poll_review_source(source_id=source.pk)
    assert (result.polled, result.imported, result.error) == (True, 2, "")
    rows = Feedback.objects.order_by("external_id")
    assert [(f.channel, f.source, f.external_id, f.product) for f in rows] == [
        ("review", "app-store", "r-1", product),
        ("review", "app-store", "r-2", product),
    ]
    assert (rows[0].rating, rows[0].rating_normalised, rows[0].submitter_name) == (
        1,
        0.0,
        "Reviewer 1",
    )
    assert rows[0].received_at == dt.datetime(2025, 1, 1, 10, tzinfo=dt.UTC)
    source.refresh_from_db()
    assert (source.items_imported, source.consecutive_failures, source.last_error) == (2, 0, "")
    first_success = source.last_success_at
    assert source.next_poll_at == first_success + dt.timedelta(minutes=30)

    # 2. The server fails: error recorded, next poll backs off, nothing lost.
    feed_server.reply = (500, "text/plain", b"oops")
    result = review_sources.poll_review_source(source_id=source.pk, force=True)
    assert result.polled and "HTTP 500" in result.error
    source.refresh_from_db()
    assert source.consecutive_failures == 1 and "HTTP 500" in source.last_error
    assert source.next_poll_at - source.last_polled_at == dt.timedelta(minutes=60)
    assert source.last_success_at == first_success
    # Then garbage: a second failure, the wait doubles again.
    feed_server.reply = (200, "application/json", b"<html>not json")
    review_sources.poll_review_source(source_id=source.pk, force=True)
    source.refresh_from_db()
    assert source.consecutive_failures == 2 and "not valid JSON" in source.last_error
    assert source.next_poll_at - source.last_polled_at == dt.timedelta(minutes=120)
    # Not due yet: the scheduled poll leaves it alone.
    assert review_sources.poll_review_source(source_id=source.pk).polled is False
    assert Feedback.objects.count() == 2

    # 3. Recovered: the old reviews are not duplicated, the new one is imported.
    feed_server.serve_json(
        json_feed(
            review(1, "Crashes on start", 1), review(2, "Works well", 5), review(3, "Sync is slow")
        )
    )
    result = review_sources.poll_review_source(source_id=source.pk, force=True)
    assert (result.imported, result.duplicates) == (1, 2)
    source.refresh_from_db()
    assert (source.consecutive_failures, source.last_error, source.items_imported) == (0, "", 3)
    assert Feedback.objects.filter(source="app-store").count() == 3
    assert Feedback.objects.get(external_id="r-3").rating is None


def test_rss_and_atom_feeds_and_items_without_ids_are_not_imported_twice(feed_server):
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Shop reviews</title>
      <item><title>Great shop</title><description>&lt;p&gt;Fast &amp;amp; friendly&lt;/p&gt;</description>
        <pubDate>Tue, 07 Jan 2025 09:00:00 GMT</pubDate></item>
      <item><guid>g-2</guid><description>Parcel arrived broken</description></item>
    </channel></rss>"""
    feed_server.reply = (200, "application/rss+xml", rss)
    source = make_source(feed_server.url(), name="Shop RSS", kind="rss_atom")
    assert review_sources.poll_review_source(source_id=source.pk).imported == 2
    assert review_sources.poll_review_source(source_id=source.pk, force=True).duplicates == 2
    first = Feedback.objects.get(text__startswith="Great shop")
    assert first.text == "Great shop\n\nFast & friendly"
    assert first.external_id.startswith("sha256:")
    assert Feedback.objects.filter(external_id="g-2").exists()

    atom = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
      <title>T</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated>
      <entry><id>urn:a1</id><title>Too expensive</title><updated>2025-01-02T00:00:00Z</updated>
      <summary>The premium plan costs too much.</summary></entry></feed>"""
    feed_server.reply = (200, "application/atom+xml", atom)
    atom_source = make_source(feed_server.url("/atom"), name="Atom", kind="rss_atom")
    assert review_sources.poll_review_source(source_id=atom_source.pk).imported == 1
    assert Feedback.objects.get(source="atom").external_id == "urn:a1"


def test_plain_array_with_a_field_mapping(feed_server):
    feed_server.serve_json(
        {
            "data": {
                "reviews": [
                    {
                        "reviewId": 7,
                        "review": {"body": "Helpful staff"},
                        "stars": "4",
                        "when": "2025-02-03",
                    },
                    {"reviewId": 8, "review": {"body": ""}, "stars": 2},
                ]
            }
        }
    )
    source = make_source(
        feed_server.url(),
        name="Partner API",
        field_mapping={
            "items": "data.reviews",
            "id": "reviewId",
            "text": "review.body",
            "date": "when",
        },
    )
    result = review_sources.poll_review_source(source_id=source.pk)
    assert result.imported == 1  # the item without text is left out
    feedback = Feedback.objects.get()
    assert (feedback.external_id, feedback.text, feedback.rating) == ("7", "Helpful staff", 4)
    assert feedback.received_at == dt.datetime(2025, 2, 3, tzinfo=dt.UTC)


def test_item_dates_with_any_iso_offset_are_stored_in_utc(feed_server):
    feed_server.serve_json([{"id": "a", "text": "Far west", "date": "2025-02-03T00:00:00-20:00"}])
    source = make_source(feed_server.url())
    result = review_sources.poll_review_source(source_id=source.pk)
    assert result.imported == 1
    assert Feedback.objects.get().received_at == dt.datetime(2025, 2, 3, 20, tzinfo=dt.UTC)


def test_rating_outside_the_scale_skips_the_item_and_keeps_the_others(feed_server):
    feed_server.serve_json(
        [{"id": "a", "text": "ok", "rating": 9}, {"id": "b", "text": "fine", "rating": 3}]
    )
    source = make_source(feed_server.url())
    result = review_sources.poll_review_source(source_id=source.pk)
    assert (result.imported, result.skipped) == (1, 1)


def test_a_future_dated_item_is_skipped_until_its_date_comes(feed_server):
    tomorrow_but_one = timezone.now() + dt.timedelta(days=2)
    future = {**review(1, "Not written yet"), "date_published": tomorrow_but_one.isoformat()}
    feed_server.serve_json(json_feed(future, review(2, "Written")))
    source = make_source(feed_server.url())

    result = review_sources.poll_review_source(source_id=source.pk)

    assert (result.imported, result.skipped) == (1, 1)
    source.refresh_from_db()
    assert source.skip_reasons == [
        {"item": "r-1", "reason": f"The date {tomorrow_but_one:%Y-%m-%d} lies in the future."}
    ]
    assert not Feedback.objects.filter(received_at__gt=timezone.now()).exists()


def test_ratings_written_out_are_read_as_in_a_review_file(feed_server):
    feed_server.serve_json(
        [
            {"id": "a", "text": "Good", "rating": "4 out of 5"},
            {"id": "b", "text": "Fine", "rating": "★★★☆☆"},
            {"id": "c", "text": "Meh", "rating": 2},
        ]
    )
    source = make_source(feed_server.url())

    assert review_sources.poll_review_source(source_id=source.pk).imported == 3

    ratings = dict(Feedback.objects.values_list("external_id", "rating"))
    assert ratings == {"a": 4, "b": 3, "c": 2}


def test_refused_items_are_counted_with_their_first_reasons_on_the_page_and_in_the_api(
    feed_server, client, staff_member
):
    refused = [{"id": f"bad-{n}", "text": "Hmm", "rating": 9} for n in range(7)]
    feed_server.serve_json([{"id": "ok", "text": "Fine", "rating": 4}, *refused])
    source = make_source(feed_server.url(), name="Partner")

    assert review_sources.poll_review_source(source_id=source.pk).skipped == 7

    source.refresh_from_db()
    assert source.items_skipped_last_poll == 7
    assert [skip["item"] for skip in source.skip_reasons] == [f"bad-{n}" for n in range(5)]
    reason = source.skip_reasons[0]["reason"]
    assert "rating" in reason.lower()
    client.force_login(staff_member)
    page = client.get(reverse("feedback:review_sources")).content.decode()
    assert "7 items refused" in page and "bad-4" in page and "bad-5" not in page
    _, raw = create_api_key(name="bi", scopes=["feedback:read"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    data = api.get(f"/api/v1/review-sources/{source.pk}/").json()
    assert data["items_skipped_last_poll"] == 7
    assert data["skip_reasons"][0] == {"item": "bad-0", "reason": reason}

    # The next poll that reads the feed replaces them.
    feed_server.serve_json([{"id": "ok", "text": "Fine", "rating": 4}])
    review_sources.poll_review_source(source_id=source.pk, force=True)
    source.refresh_from_db()
    assert (source.items_skipped_last_poll, source.skip_reasons) == (0, [])


def test_oversized_feed_and_unreachable_host_are_errors(feed_server, settings):
    settings.REVIEW_SOURCE_MAX_BYTES = 100
    feed_server.serve_json([{"id": str(n), "text": "x" * 50} for n in range(5)])
    source = make_source(feed_server.url())
    assert "larger than" in review_sources.poll_review_source(source_id=source.pk).error
    closed = FeedServer()
    url = closed.url()
    closed.close()
    other = make_source(url, name="Gone")
    assert "could not be reached" in review_sources.poll_review_source(source_id=other.pk).error


def test_feeds_on_private_addresses_are_refused_by_default(feed_server, settings):
    settings.REVIEW_SOURCE_ALLOW_PRIVATE_HOSTS = False
    feed_server.serve_json([{"id": "a", "text": "internal"}])
    for url in (
        feed_server.url(),
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/feed",
    ):
        source = make_source(url, name=url)
        assert (
            "not a public address" in review_sources.poll_review_source(source_id=source.pk).error
        )
    assert feed_server.requests == 0
    assert not Feedback.objects.exists()


def test_redirects_are_checked_like_the_feed_url():
    import urllib.request

    class Redirecting(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(review_feeds.FeedError, match="not allowed|not http or https"):
            review_feeds.fetch(
                f"http://127.0.0.1:{server.server_port}/",
                timeout=2,
                max_bytes=1000,
                allow_private=True,
            )
    finally:
        server.shutdown()
        server.server_close()
    # A public feed redirecting inside the network is refused before the request is made.
    handler = review_feeds._CheckedRedirects(allow_private=False)
    request = urllib.request.Request("https://reviews.example.com/feed")
    with pytest.raises(review_feeds.FeedError, match="not a public address"):
        handler.redirect_request(request, None, 302, "Found", {}, "http://169.254.169.254/latest/")


def test_backoff_is_capped_at_a_day():
    assert review_sources.backoff_delay(interval_minutes=60, failures=1) == dt.timedelta(hours=2)
    assert review_sources.backoff_delay(interval_minutes=60, failures=50) == dt.timedelta(days=1)
    assert review_sources.backoff_delay(interval_minutes=2880, failures=3) == dt.timedelta(days=2)


def test_a_source_being_polled_is_not_polled_again(feed_server):
    feed_server.serve_json([{"id": "a", "text": "ok"}])
    source = make_source(feed_server.url())
    ReviewSource.objects.filter(pk=source.pk).update(polling_since=timezone.now())
    assert review_sources.poll_review_source(source_id=source.pk, force=True).polled is False
    assert feed_server.requests == 0
    # A claim left by a worker that died long ago is taken over.
    ReviewSource.objects.filter(pk=source.pk).update(
        polling_since=timezone.now() - dt.timedelta(hours=1)
    )
    assert review_sources.poll_review_source(source_id=source.pk, force=True).imported == 1
    assert ReviewSource.objects.get(pk=source.pk).polling_since is None


def test_source_validation():
    with pytest.raises(ValidationError) as error:
        make_source("ftp://example.com/feed")
    assert "url" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_source("https://example.com/feed", field_mapping={"colour": "x"})
    assert "field_mapping" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_source("https://example.com/feed", rating_min=5, rating_max=1)
    assert "rating_max" in error.value.message_dict
    with pytest.raises(ValidationError):
        make_source("https://example.com/feed", interval_minutes=0)
    assert ReviewSource.objects.count() == 0
    # Same name twice: a distinct slug, so their reviews never mix.
    assert [
        make_source("https://example.com/a").slug,
        make_source("https://example.com/b").slug,
    ] == [
        "app-store",
        "app-store-2",
    ]


def test_plain_text_fields_are_kept_as_written_and_html_fields_lose_their_tags(feed_server):
    feed_server.serve_json(
        json_feed(
            {
                "id": "p-1",
                "title": "Tom & Jerry <3",
                "content_text": "I <3 the app; a < b && <b>bold</b> is how I type &amp;",
                "authors": [{"name": "Ann <ann@example.com>"}],
            },
            {"id": "h-1", "content_html": "<p>Fast &amp; <b>friendly</b></p>"},
        )
    )
    source = make_source(feed_server.url(), name="Shop")
    assert review_sources.poll_review_source(source_id=source.pk).imported == 2
    plain = Feedback.objects.get(external_id="p-1")
    assert plain.text == (
        "Tom & Jerry <3\n\nI <3 the app; a < b && <b>bold</b> is how I type &amp;"
    )
    assert plain.submitter_name == "Ann <ann@example.com>"
    assert Feedback.objects.get(external_id="h-1").text == "Fast & friendly"


def test_rss_and_atom_text_follows_the_declared_type():
    atom = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
      <title>T</title><id>urn:x</id><updated>2025-01-01T00:00:00Z</updated>
      <entry><id>urn:1</id><title type="html">Too &lt;b&gt;dear&lt;/b&gt;</title>
        <author><name>Tom &amp; Jerry &lt;3</name></author>
        <content type="html">&lt;p&gt;Premium &amp;amp; plus&lt;/p&gt;</content></entry>
      <entry><id>urn:2</id><title>I &lt;3 it</title>
        <summary type="text">x &lt; y &amp;&amp; &lt;b&gt; means bold</summary></entry></feed>"""
    first, second = review_feeds.parse("rss_atom", atom)
    assert (first.text, first.author) == ("Too dear\n\nPremium & plus", "Tom & Jerry <3")
    assert second.text == "I <3 it\n\nx < y && <b> means bold"
    json_items = review_feeds.parse(
        "json_feed",
        json.dumps([{"id": 1, "review": {"body_html": "<i>Nice</i>"}}]).encode(),
        {"text": "review.body_html"},
    )
    assert json_items[0].text == "Nice"


def test_parse_errors_are_feed_errors():
    with pytest.raises(review_feeds.FeedError):
        review_feeds.parse("rss_atom", b"\x00\x01 not xml")
    with pytest.raises(review_feeds.FeedError):
        review_feeds.parse("json_feed", b'{"items": "nope"}')


def test_the_poll_task_polls_one_due_source(feed_server):
    feed_server.serve_json([{"id": "a", "text": "From the task"}])
    source = make_source(feed_server.url())
    assert poll_review_source_task(source.pk) is True
    assert Feedback.objects.get().text == "From the task"
    assert poll_review_source_task(source.pk) is False  # not due again yet


@pytest.mark.django_db(transaction=True)
def test_beat_task_queues_due_sources_and_a_worker_polls_them(feed_server, celery_worker):
    from conftest import wait_until

    feed_server.serve_json([{"id": "a", "text": "Polled by the worker"}])
    due = make_source(feed_server.url(), name="Due")
    later = make_source(feed_server.url(), name="Later")
    ReviewSource.objects.filter(pk=later.pk).update(
        next_poll_at=timezone.now() + dt.timedelta(hours=1)
    )
    ReviewSource.objects.create(
        name="Paused",
        slug="paused",
        kind="json_feed",
        url=feed_server.url(),
        active=False,
        next_poll_at=timezone.now(),
    )

    assert poll_due_review_sources_task() == 1
    assert wait_until(lambda: Feedback.objects.filter(source=due.slug).exists())
    assert not Feedback.objects.exclude(source=due.slug).exists()


# --- The sources page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "list_status", "edit_status"),
    [
        ("anonymous", "login", "login"),
        ("outsider", 403, 403),
        ("staff_member", 200, 403),
        ("manager", 200, 200),
    ],
)
def test_sources_pages_enforce_roles(client, request, actor, list_status, edit_status):
    source = make_source("https://example.com/feed")
    if actor != "anonymous":
        client.force_login(request.getfixturevalue(actor))
    for url, expected in (
        (reverse("feedback:review_sources"), list_status),
        (reverse("feedback:review_source_create"), edit_status),
        (reverse("feedback:review_source_edit", args=[source.pk]), edit_status),
    ):
        response = client.get(url)
        if expected == "login":
            assert response.status_code == 302 and "/login/" in response["Location"]
        else:
            assert response.status_code == expected
    response = client.post(reverse("feedback:review_source_poll", args=[source.pk]))
    assert (
        response.status_code
        == {"anonymous": 302, "outsider": 403, "staff_member": 403, "manager": 302}[actor]
    )


def test_manager_adds_edits_and_polls_a_source_and_sees_its_status(
    client, manager, feed_server, django_capture_on_commit_callbacks
):
    # The enqueue runs after the commit; it is captured, not run (the worker test polls).
    client.force_login(manager)
    with django_capture_on_commit_callbacks() as first_poll:
        response = client.post(
            reverse("feedback:review_source_create"),
            {
                "name": "Trustpilot",
                "kind": "json_feed",
                "url": feed_server.url(),
                "interval_minutes": "15",
                "rating_min": "1",
                "rating_max": "5",
                "field_mapping": "",
                "active": "on",
            },
        )
    assert response.status_code == 302
    assert len(first_poll) == 1
    source = ReviewSource.objects.get()
    bad = client.post(
        reverse("feedback:review_source_edit", args=[source.pk]),
        {
            "name": "Trustpilot",
            "kind": "json_feed",
            "url": "ftp://x",
            "interval_minutes": "0",
            "rating_min": "1",
            "rating_max": "5",
            "field_mapping": "[1]",
        },
    )
    assert bad.status_code == 400
    assert {"url", "interval_minutes", "field_mapping"} <= set(bad.context["form"].errors)
    feed_server.reply = (503, "text/plain", b"down")
    review_sources.poll_review_source(source_id=source.pk)
    page = client.get(reverse("feedback:review_sources"))
    assert b"HTTP 503" in page.content and b"1 failure in a row" in page.content
    with django_capture_on_commit_callbacks() as poll_now:
        with_commit = client.post(reverse("feedback:review_source_poll", args=[source.pk]))
    assert with_commit.status_code == 302
    assert len(poll_now) == 1
    source.refresh_from_db()
    assert source.next_poll_at <= timezone.now()
