import codecs
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.utils import timezone

from feedback import review_import, review_sources
from feedback import services as feedback_services
from feedback.models import Feedback, ReviewImport, ReviewImportError
from feedback.review_import import reading, values
from feedback.review_import import services as import_services
from feedback.services import DuplicateFeedback, record_feedback
from feedback.tasks import import_reviews_task
from feedback.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
GOOGLE_CSV = (
    "review_id,author,stars,date,title,review\n"
    "g-1,Ann,5,2024-03-01T10:00:00Z,Love it,Fast delivery and friendly staff\n"
    "g-2,Bob,2,2024-03-02,,The app crashes at checkout\n"
    'g-3,Cem,4,2024-03-03 08:30,,"Good, but the price went up"\n'
)


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.REVIEW_IMPORT_DIR = tmp_path / "imports"
    return settings.REVIEW_IMPORT_DIR


@pytest.fixture
def no_broker(monkeypatch):
    """Captures the import ids a service queues instead of publishing them."""
    queued = []
    monkeypatch.setattr(
        import_reviews_task, "apply_async", lambda args, **kwargs: queued.append(args[0])
    )
    return queued


def _upload(content, name="reviews.csv"):
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content)


def _start(content, *, name="reviews.csv", source="google", mapping=None, **options):
    imp = review_import.create_review_import(upload=_upload(content, name))
    if mapping is None:
        mapping = values.guess_mapping(imp.columns, imp.column_profiles)
    return review_import.start_review_import(
        review_import=imp, source=source, mapping=mapping, **options
    )


def _import(content, **kwargs):
    imp = _start(content, **kwargs)
    import_reviews_task(imp.pk)
    imp.refresh_from_db()
    return imp


def _errors(imp):
    return list(imp.row_errors.order_by("line").values_list("line", "reason"))


# --- Encodings, formats, dialects --------------------------------------------------------


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), "utf-8-sig"),
        (lambda t: t.encode("utf-16"), "utf-16"),
        (lambda t: t.encode("latin-1"), "cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "latin-1"],
)
def test_import_reads_each_encoding_and_keeps_accents(encode, expected):
    text = "id,rating,review\nr1,5,Très bien, même le café\n".replace(
        "Très bien, même le café", '"Très bien, même le café"'
    )
    imp = _import(encode(text))
    assert imp.encoding == expected
    assert imp.columns == ["id", "rating", "review"]  # no BOM left in the first header
    assert imp.status == ReviewImport.Status.DONE
    assert Feedback.objects.get().text == "Très bien, même le café"


def test_latin1_bytes_outside_windows_1252_fall_back_to_latin1():
    assert reading.detect_encoding("é".encode("latin-1") + b"\x81") == "latin-1"
    assert reading.detect_encoding("é".encode("cp1252") + "’".encode("cp1252")) == "cp1252"


def test_utf16_without_bom_is_recognised():
    assert reading.detect_encoding("id,review\n1,hello\n".encode("utf-16-le")) == "utf-16-le"


@pytest.mark.parametrize(
    ("content", "delimiter"),
    [
        ("id;rating;review\n1;5;Gut, sehr gut\n2;4;ok\n", ";"),
        ("id\trating\treview\n1\t5\tfine, thanks\n2\t4\tok\n", "\t"),
        ('id,rating,review\n1,5,"a; b; c"\n2,4,"x | y"\n', ","),
        ("id|rating|review\n1|5|good\n", "|"),
    ],
)
def test_csv_dialect_is_detected(content, delimiter):
    facts = reading.inspect(content.encode(), "x.csv")
    assert facts.csv_dialect["delimiter"] == delimiter
    assert facts.columns == ["id", "rating", "review"]


def test_quotes_inside_quoted_text_are_read_after_rows_without_any():
    plain_rows = "".join(f'r{n},5,"Good service, thanks"\n' for n in range(3000))
    content = (
        f"id,rating,review\n{plain_rows}"
        'r-late,4,"She said ""wow"", really fast"\n'
        'r-last,3,"The ""new"" app"\n'
    )
    assert len(content) > reading.SNIFF_BYTES

    imp = _import(content)

    assert (imp.rows_imported, imp.rows_skipped) == (3002, 0)
    assert Feedback.objects.get(external_id="r-late").text == 'She said "wow", really fast'
    assert Feedback.objects.get(external_id="r-last").text == 'The "new" app'


def test_single_column_csv_is_read():
    facts = reading.inspect(b"review\nGreat service\nToo slow\n", "x.csv")
    assert (facts.columns, facts.rows_total) == (["review"], 2)


def test_json_list_reviews_object_nested_keys_and_json_lines():
    google = {
        "reviews": [
            {
                "reviewId": "abc",
                "reviewer": {"displayName": "Ann", "profile": {"id": 7}},
                "starRating": "FOUR",
                "comment": "Nice shop",
                "createTime": "2024-01-02T03:04:05Z",
                "photos": ["a.jpg"],
                "verified": True,
            }
        ]
    }
    facts = reading.inspect(json.dumps(google).encode(), "google.json")
    assert facts.columns == [
        "reviewId", "reviewer.displayName", "reviewer.profile.id", "starRating", "comment",
        "createTime", "photos", "verified",
    ]
    assert facts.preview_rows[0][1:3] == ["Ann", "7"]
    assert facts.preview_rows[0][6:] == ['["a.jpg"]', "true"]

    as_list = reading.inspect(b'[{"text": "a"}, {"text": "b", "stars": 3}]', "x.json")
    assert (as_list.columns, as_list.rows_total) == (["text", "stars"], 2)

    lines = reading.inspect(b'{"text": "a"}\n{"text": "b"}\n', "export.txt")
    assert (lines.file_format, lines.rows_total) == ("json", 2)


def test_txt_upload_is_read_as_csv_unless_it_starts_like_json():
    assert reading.inspect(b"review\nhello\n", "export.txt").file_format == "csv"
    assert reading.inspect(b' [{"review": "x"}]', "export.txt").file_format == "json"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "x.csv", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "x.csv", "spreadsheet"),
        (b'[{"text": "a"},', "x.json", "Malformed JSON on line 1"),
        (b'{"text": "a"}', "x.json", "list of reviews"),
        (b"[1, 2, 3]", "x.json", "no review objects"),
        (b"review,rating\n", "x.csv", "no reviews"),
        (b'review,rating\n"unclosed,5\nmore,4\n', "x.csv", "unclosed quote"),
        (b"id,review\n1,\x00\x00\x00\x00\x01\x02", "x.csv", "not a text file"),
        ("a,b\n1,2\n".encode("utf-16")[:-1], "x.csv", "could not be read as utf-16"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(content, name, message):
    with pytest.raises(ValidationError) as raised:
        review_import.create_review_import(upload=_upload(content, name))
    assert message in raised.value.message_dict["file"][0]
    assert ReviewImport.objects.count() == 0


def test_upload_limits_size_and_extension(settings, import_dir):
    settings.REVIEW_IMPORT_MAX_BYTES = 100
    with pytest.raises(ValidationError) as raised:
        review_import.create_review_import(upload=_upload("review\n" + "x" * 200))
    assert "larger than" in raised.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as raised:
        review_import.create_review_import(upload=_upload("review\nok\n", "reviews.xlsx"))
    assert ".csv, .json or .txt" in raised.value.message_dict["file"][0]
    assert not import_dir.exists() or not any(import_dir.iterdir())


def test_upload_is_stored_under_a_generated_name(import_dir):
    imp = review_import.create_review_import(upload=_upload(GOOGLE_CSV, "../../etc/passwd.csv"))
    stored = list(import_dir.iterdir())
    assert [p.name for p in stored] == [imp.stored_name]
    assert "passwd" not in imp.stored_name and imp.stored_name.endswith(".csv")
    assert imp.original_name == "passwd.csv"
    assert (imp.status, imp.rows_total, imp.file_format) == ("mapping", 3, "csv")
    assert imp.preview_rows[0][:3] == ["g-1", "Ann", "5"]


# --- Mapping, scales, dates --------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["review_id", "author", "stars", "date", "title", "review"],
            {"external_id": "review_id", "author": "author", "rating": "stars", "date": "date",
             "title": "title", "text": "review"},
        ),
        (  # Google Business Profile API, flattened
            ["reviewId", "reviewer.displayName", "starRating", "comment", "createTime"],
            {"external_id": "reviewId", "author": "reviewer.displayName", "rating": "starRating",
             "text": "comment", "date": "createTime"},
        ),
        (  # Trustpilot
            ["id", "stars", "title", "text", "createdAt", "consumer.displayName"],
            {"external_id": "id", "rating": "stars", "title": "title", "text": "text",
             "date": "createdAt", "author": "consumer.displayName"},
        ),
        (  # Google Play console
            ["Package Name", "Review Submit Date and Time", "Star Rating", "Review Title",
             "Review Text", "Review Link"],
            {"date": "Review Submit Date and Time", "rating": "Star Rating",
             "title": "Review Title", "text": "Review Text"},
        ),
        (  # google-play-scraper
            ["reviewId", "userName", "content", "score", "thumbsUpCount", "at"],
            {"external_id": "reviewId", "author": "userName", "text": "content",
             "rating": "score", "date": "at"},
        ),
        (["Body", "Created_At", "Score", "Product"],
         {"text": "Body", "date": "Created_At", "rating": "Score", "product": "Product"}),
        (  # Trustpilot business export
            ["Review Id", "Review Title", "Review Content", "Review Stars",
             "Review Created (UTC)", "Reviewer Name"],
            {"external_id": "Review Id", "title": "Review Title", "text": "Review Content",
             "rating": "Review Stars", "date": "Review Created (UTC)", "author": "Reviewer Name"},
        ),
    ],
)
def test_mapping_is_guessed_from_headers(columns, expected):
    assert values.guess_mapping(columns) == expected


@pytest.mark.parametrize(
    ("filename", "source"),
    [
        ("Trustpilot export 2024.csv", "trustpilot"),
        ("reviews_reviews_com.example.app_202401.csv", "google-play"),
        ("google-reviews.json", "google"),
        ("AppStore_ratings.csv", "app-store"),
        ("export.csv", ""),
    ],
)
def test_source_is_suggested_by_the_file_name(filename, source):
    assert values.guess_source(filename) == source


def test_text_column_without_known_header_is_the_one_with_long_values():
    facts = reading.inspect(
        b"ref,note\n1,The parcel arrived two days late and damaged\n2,Quick and friendly help\n",
        "x.csv",
    )
    assert values.guess_mapping(facts.columns, facts.column_profiles) == {"text": "note"}


@pytest.mark.parametrize(
    ("ratings", "scale"),
    [
        (["1", "5", "3"], "1-5"),
        (["0", "5"], "0-5"),
        (["2", "7", "10"], "1-10"),
        (["0", "9"], "0-10"),
        (["15", "80", "100"], "0-100"),
        (["4,5", "3/5", "FIVE", "★★☆☆☆"], "1-5"),
        (["4 out of 5", "2 out of 5 stars", "5 stars"], "1-5"),
        (["80%", "35 %", "100%"], "0-100"),
        (["200"], None),
        (["-1", "3"], None),
    ],
)
def test_rating_scale_is_detected_from_the_values(ratings, scale):
    profile = values.ColumnProfile()
    for rating in ratings:
        profile.add(rating)
    assert values.detect_rating_scale(profile.as_dict()) == scale


def test_rating_scale_is_stored_and_normalised_and_can_be_overridden():
    content = "review,score\nGreat,10\nBad,2\nOkay,7\n"
    imp = _import(content)
    assert (imp.rating_min, imp.rating_max) == (Decimal("1"), Decimal("10"))
    great = Feedback.objects.get(text="Great")
    assert (great.rating, great.rating_min, great.rating_max, great.rating_normalised) == (
        Decimal("10"), Decimal("1"), Decimal("10"), 1.0,
    )

    overridden = _import(content, source="nps", rating_scale="0-10")
    assert (overridden.rating_min, overridden.rating_max) == (0, 10)
    assert Feedback.objects.get(source="nps", text="Bad").rating_normalised == pytest.approx(0.2)


def test_unknown_scale_must_be_chosen():
    imp = review_import.create_review_import(upload=_upload("review,score\nGreat,250\n"))
    with pytest.raises(ValidationError) as raised:
        review_import.start_review_import(
            review_import=imp, source="x", mapping={"text": "review", "rating": "score"}
        )
    assert "rating_scale" in raised.value.message_dict


@pytest.mark.parametrize(
    ("raw", "order", "expected"),
    [
        ("2024-03-01", "dmy", dt.datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01T10:20:30Z", "dmy", dt.datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-01T12:20:30+02:00", "dmy", dt.datetime(2024, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-01 10:20", "dmy", dt.datetime(2024, 3, 1, 10, 20, tzinfo=UTC)),
        ("2024-3-5", "mdy", dt.datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-3-5 9:07", "dmy", dt.datetime(2024, 3, 5, 9, 7, tzinfo=UTC)),
        ("2024/3/5", "dmy", dt.datetime(2024, 3, 5, tzinfo=UTC)),
        ("05/03/2024", "dmy", dt.datetime(2024, 3, 5, tzinfo=UTC)),
        ("05/03/2024", "mdy", dt.datetime(2024, 5, 3, tzinfo=UTC)),
        ("05.03.2024 14:05", "dmy", dt.datetime(2024, 3, 5, 14, 5, tzinfo=UTC)),
        ("3/5/2024 2:05 PM", "mdy", dt.datetime(2024, 3, 5, 14, 5, tzinfo=UTC)),
        ("1709287200", "dmy", dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("1709287200000", "dmy", dt.datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("Mar 1, 2024", "dmy", dt.datetime(2024, 3, 1, tzinfo=UTC)),
        ("Fri, 01 Mar 2024 10:00:00 +0000", "dmy", dt.datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-01-05 10:00:00 UTC", "dmy", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("05/01/2024 10:00 utc", "dmy", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("Fri, 05 Jan 2024 10:00:00 GMT", "dmy", dt.datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("", "dmy", None),
    ],
)
def test_dates_are_parsed_and_naive_ones_taken_as_utc(raw, order, expected):
    parsed = values.parse_review_date(raw, order)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


@pytest.mark.parametrize(
    "raw",
    [
        "yesterday",
        "31/31/2024",
        "2024-13-01",
        "12:00",
        "UTC",
        "2024-01-05T10:00+02:00 UTC",
        "2024-3/5",
    ],
)
def test_unreadable_dates_raise(raw):
    with pytest.raises(ValueError, match="Unrecognised date"):
        values.parse_review_date(raw, "dmy")


def test_date_order_is_chosen_by_the_data_and_can_be_overridden():
    us = "review,date\nA,12/31/2024\nB,01/02/2024\n"
    imp = _import(us, source="us")
    assert imp.date_order == "mdy"
    assert Feedback.objects.get(text="B").received_at == dt.datetime(2024, 1, 2, tzinfo=UTC)

    eu = "review,date\nC,31/12/2024\nD,01/02/2024\n"
    assert _import(eu, source="eu").date_order == "dmy"
    assert Feedback.objects.get(text="D").received_at == dt.datetime(2024, 2, 1, tzinfo=UTC)

    forced = _import("review,date\nE,01/02/2024\n", source="forced", date_order="mdy")
    assert forced.date_order == "mdy"
    assert Feedback.objects.get(text="E").received_at == dt.datetime(2024, 1, 2, tzinfo=UTC)


def test_start_refuses_bad_mappings():
    imp = review_import.create_review_import(upload=_upload(GOOGLE_CSV))
    with pytest.raises(ValidationError) as raised:
        review_import.start_review_import(
            review_import=imp, source=" ", mapping={"rating": "stars", "date": "nope"}
        )
    assert set(raised.value.message_dict) == {"source", "text_column", "date_column"}
    imp.refresh_from_db()
    assert imp.status == ReviewImport.Status.MAPPING


# --- The task end to end ------------------------------------------------------------------


def test_task_imports_rows_through_record_feedback():
    product = ProductFactory(name="Mobile app", slug="mobile-app")
    imp = _import(GOOGLE_CSV, source="Google ", product=product)
    assert (imp.status, imp.source) == (ReviewImport.Status.DONE, "google")
    assert (imp.rows_processed, imp.rows_imported, imp.rows_skipped, imp.rows_duplicate) == (3, 3, 0, 0)
    assert imp.started_at and imp.finished_at
    first = Feedback.objects.get(external_id="g-1")
    assert first.channel == Feedback.Channel.REVIEW
    assert first.text == "Love it\n\nFast delivery and friendly staff"
    assert (first.rating, first.rating_normalised) == (Decimal("5"), 1.0)
    assert first.received_at == dt.datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert (first.submitter_name, first.product, first.source) == ("Ann", product, "google")
    assert Feedback.objects.get(external_id="g-3").text == "Good, but the price went up"


def test_trustpilot_business_export_is_imported_with_its_own_headers_and_dates():
    content = (
        "Review Id;Review Title;Review Content;Review Stars;Review Created (UTC);Reviewer Name\n"
        "tp-1;Slow;The checkout is slow;2;2024-01-05 10:00:00 UTC;Aiko Berg\n"
        "tp-2;Great;Lovely staff;5;2024-01-06 11:30:00 UTC;Ben\n"
    )
    imp = _import(content, name="trustpilot.csv", source="trustpilot", rating_scale="1-5")
    assert (imp.rows_imported, imp.rows_skipped) == (2, 0), _errors(imp)
    slow = Feedback.objects.get(external_id="tp-1")
    assert (slow.text, slow.rating, slow.received_at, slow.submitter_name) == (
        "Slow\n\nThe checkout is slow", Decimal("2"), dt.datetime(2024, 1, 5, 10, tzinfo=UTC),
        "Aiko Berg",
    )


def test_task_runs_through_celery_apply():
    imp = _start(GOOGLE_CSV)
    result = import_reviews_task.apply(args=(imp.pk,))
    assert result.successful() and result.get() is True
    imp.refresh_from_db()
    assert (imp.status, imp.rows_imported) == ("done", 3)


def test_bad_rows_are_skipped_and_listed_with_their_line_numbers():
    ProductFactory(name="Web shop", slug="web-shop")
    content = (
        "id,rating,date,product,review\n"  # line 1
        '1,5,2024-01-01,web-shop,"Fine,\nreally fine"\n'  # lines 2-3
        "2,9,2024-01-01,,Out of scale\n"  # 4
        "3,4,someday,,Bad date\n"  # 5
        "4,4,2024-01-01,,\n"  # 6: no text
        "5,4,2024-01-01,Unknown thing,Who?\n"  # 7
        "6,4,2024-01-01,Web Shop,By name\n"  # 8
        "7,4\n"  # 9: too short
        "\n"  # 10: blank, not a row
        "8,abc,2024-01-01,,Not a number\n"  # 11
        f"9,3,2024-01-01,,{'x' * 5001}\n"  # 12
    )
    imp = _import(content, rating_scale="1-5")
    assert (imp.rows_total, imp.rows_processed, imp.rows_imported, imp.rows_skipped) == (9, 9, 2, 7)
    assert _errors(imp) == [
        (4, "rating: Rating must lie between 1 and 5."),
        (5, "date: Unrecognised date “someday”."),
        (6, "review (text): This field may not be blank."),
        (7, "product: No product is named “Unknown thing”."),
        (9, "Expected 5 fields, found 2."),
        (11, "rating: Enter a number."),
        (12, "review (text): Ensure this field has no more than 5000 characters."),
    ]
    assert Feedback.objects.filter(product__slug="web-shop").count() == 2


def test_reviews_dated_in_the_future_are_skipped_with_a_reason():
    tomorrow_evening = (timezone.now() + dt.timedelta(hours=20)).strftime("%Y-%m-%d %H:%M")
    content = (
        "id,date,review\n"
        "1,2024-01-01,Fine\n"
        "2,2030-01-01,From the future\n"
        f"3,{tomorrow_evening},Written east of UTC\n"
    )
    imp = _import(content)
    assert (imp.rows_imported, imp.rows_skipped) == (2, 1)
    assert _errors(imp) == [(3, "date: The date 2030-01-01 lies in the future.")]


def test_dates_with_any_iso_offset_are_imported_in_utc():
    content = (
        "id,date,review\n"
        "1,2024-01-01T00:00:00-20:00,Written far west\n"
        "2,0001-01-01T00:00:00+05:00,Before the calendar in UTC\n"
    )
    imp = _import(content)
    assert (imp.status, imp.rows_imported, imp.rows_skipped) == ("done", 1, 1)
    assert Feedback.objects.get().received_at == dt.datetime(2024, 1, 1, 20, tzinfo=UTC)
    assert _errors(imp) == [(3, "date: Unrecognised date “0001-01-01T00:00:00+05:00”.")]


def test_source_names_are_slugs_as_for_review_feeds():
    imp = _import("id,review\n1,Fine\n", source="  Google Reviews ")
    feed = review_sources.save_review_source(
        name="Google Reviews", kind="json_feed", url="https://example.com/feed", interval_minutes=60
    )
    assert imp.source == feed.slug == "google-reviews"
    assert Feedback.objects.get().source == "google-reviews"


def test_skipped_json_items_are_listed_by_position():
    items = [{"text": "ok", "stars": 5}, "not an object", {"text": "", "stars": 4}]
    imp = _import(json.dumps(items), name="x.json")
    assert _errors(imp) == [
        (2, "This item is not an object."),
        (3, "text: This field may not be blank."),
    ]


def test_listed_errors_are_capped_but_all_are_counted(monkeypatch):
    monkeypatch.setattr(import_services, "MAX_LISTED_ERRORS", 3)
    monkeypatch.setattr(import_services, "IMPORT_BATCH_SIZE", 2)
    content = "id,review\n" + "".join(f"{n},\n" for n in range(5)) + "9,fine\n"
    imp = _import(content)
    assert (imp.rows_skipped, imp.rows_imported) == (5, 1)
    assert [line for line, _ in _errors(imp)] == [2, 3, 4]


def test_duplicates_within_a_file_and_on_reimport_are_not_stored_twice():
    content = GOOGLE_CSV + "g-1,Ann,5,2024-03-01,,Same id again\n"
    imp = _import(content)
    assert (imp.rows_imported, imp.rows_duplicate) == (3, 1)

    again = _import(content)
    assert (again.rows_imported, again.rows_duplicate, again.rows_skipped) == (0, 4, 0)
    assert Feedback.objects.count() == 3

    # Another source may use the same ids.
    assert _import(content, source="trustpilot").rows_imported == 3


def test_rows_without_ids_are_deduplicated_by_content():
    content = (
        "author,date,review\n"
        "Ann,2024-01-01,Great   coffee\n"
        "ann,2024-01-01,great coffee\n"  # the same review, spaced and cased differently
        "Ann,2024-01-02,Great coffee\n"  # another day: another review
    )
    imp = _import(content)
    assert (imp.rows_imported, imp.rows_duplicate) == (2, 1)
    keys = set(Feedback.objects.values_list("external_id", flat=True))
    assert len(keys) == 2 and all(k.startswith("sha256:") and len(k) == 71 for k in keys)
    assert _import(content).rows_duplicate == 3


def test_rerunning_a_finished_import_does_nothing():
    imp = _import(GOOGLE_CSV)
    assert import_reviews_task(imp.pk) is True
    imp.refresh_from_db()
    assert (imp.rows_processed, imp.rows_imported) == (3, 3)
    assert Feedback.objects.count() == 3


def test_import_continues_from_the_last_committed_batch(monkeypatch):
    monkeypatch.setattr(import_services, "IMPORT_BATCH_SIZE", 2)
    content = "id,review\n" + "".join(f"{n},Review number {n}\n" for n in range(5))
    imp = _start(content)
    real_batch = import_services.record_feedback_batch
    calls = []

    def crash_on_second_batch(entries):
        calls.append(len(entries))
        if len(calls) == 2:
            raise DatabaseError("connection lost")
        return real_batch(entries)

    monkeypatch.setattr(import_services, "record_feedback_batch", crash_on_second_batch)
    with pytest.raises(DatabaseError):
        import_reviews_task(imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.rows_processed, imp.rows_imported) == ("running", 2, 2)
    assert Feedback.objects.count() == 2

    import_reviews_task(imp.pk)  # the redelivered message
    imp.refresh_from_db()
    assert (imp.status, imp.rows_processed, imp.rows_imported, imp.rows_duplicate) == (
        "done", 5, 5, 0,
    )
    assert sorted(Feedback.objects.values_list("external_id", flat=True)) == list("01234")


def test_a_long_import_hands_over_to_a_new_task(monkeypatch, no_broker):
    monkeypatch.setattr(import_services, "IMPORT_BATCH_SIZE", 2)
    imp = _start("id,review\n" + "".join(f"{n},Review {n}\n" for n in range(5)))
    assert review_import.run_review_import(import_id=imp.pk, time_budget=0) is False
    imp.refresh_from_db()
    assert (imp.status, imp.rows_processed, no_broker) == ("running", 2, [imp.pk])
    while not review_import.run_review_import(import_id=imp.pk, time_budget=0):
        pass
    imp.refresh_from_db()
    assert (imp.status, imp.rows_imported) == ("done", 5)


def test_import_of_a_missing_file_fails_with_a_reason(import_dir):
    imp = _start(GOOGLE_CSV)
    (import_dir / imp.stored_name).unlink()
    assert import_reviews_task(imp.pk) is True
    imp.refresh_from_db()
    assert imp.status == ReviewImport.Status.FAILED
    assert "cannot be read" in imp.failure_reason


def test_start_and_resume_queue_the_task_after_commit(
    no_broker, django_capture_on_commit_callbacks
):
    imp = review_import.create_review_import(upload=_upload(GOOGLE_CSV))
    with django_capture_on_commit_callbacks(execute=True):
        review_import.start_review_import(review_import=imp, source="google", mapping={"text": "review"})
    assert no_broker == [imp.pk]
    with pytest.raises(ValidationError):
        review_import.start_review_import(review_import=imp, source="google", mapping={"text": "review"})

    ReviewImport.objects.filter(pk=imp.pk).update(status="failed", failure_reason="boom")
    imp.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        review_import.resume_review_import(review_import=imp)
    assert (imp.status, imp.failure_reason, no_broker) == ("queued", "", [imp.pk, imp.pk])


def test_imported_rows_trigger_analysis_after_commit(django_capture_on_commit_callbacks):
    imp = _start(GOOGLE_CSV)
    with django_capture_on_commit_callbacks() as callbacks:
        import_reviews_task(imp.pk)
    assert {cb.__name__ for cb in callbacks} == {"request_analysis"}


# --- record_feedback_batch -----------------------------------------------------------------


def test_record_feedback_batch_validates_exactly_like_record_feedback():
    base = {"channel": "review", "source": "s", "received_at": dt.datetime(2024, 1, 1, tzinfo=UTC)}
    entries = [
        {**base, "text": "", "external_id": "a"},
        {**base, "text": "bad rating", "rating": "7", "rating_min": "1", "rating_max": "5"},
        {**base, "text": "no scale", "rating": "3"},
        {**base, "text": "nul \x00", "external_id": "b"},
        {**base, "text": "naive", "received_at": dt.datetime(2024, 1, 1)},
        {**base, "text": "bad channel", "channel": "pigeon"},
    ]
    expected = []
    for entry in entries:
        with pytest.raises(ValidationError) as raised:
            record_feedback(**entry)
        expected.append(raised.value.message_dict)
    with transaction.atomic():
        outcomes = feedback_services.record_feedback_batch(entries)
    assert [o.message_dict for o in outcomes] == expected
    assert Feedback.objects.count() == 0


def test_record_feedback_batch_stores_good_rows_and_reports_duplicates():
    existing = record_feedback(channel="review", source="s", external_id="old", text="Old one")
    later = record_feedback(channel="review", source="s", external_id="older", text="Older")
    entries = [
        {"channel": "review", "source": "s", "external_id": "old", "text": "Again"},
        {"channel": "review", "source": "s", "external_id": "new", "text": "New one"},
        {"channel": "review", "source": "s", "external_id": "new", "text": "New twice"},
        {"channel": "review", "source": "s", "text": ""},
        {"channel": "review", "source": "s", "external_id": "older", "text": "Older again"},
    ]
    with transaction.atomic():
        outcomes = feedback_services.record_feedback_batch(entries)
    assert isinstance(outcomes[0], DuplicateFeedback) and outcomes[0].existing.pk == existing.pk
    assert isinstance(outcomes[1], Feedback) and outcomes[1].pk
    assert isinstance(outcomes[2], DuplicateFeedback) and outcomes[2].existing == outcomes[1]
    assert isinstance(outcomes[3], ValidationError)
    assert isinstance(outcomes[4], DuplicateFeedback) and outcomes[4].existing.pk == later.pk
    assert Feedback.objects.count() == 3


def test_error_rows_cascade_with_their_import():
    imp = _import("id,review\n1,\n")
    assert ReviewImportError.objects.count() == 1
    review_import.delete_review_import(review_import=imp)
    assert ReviewImportError.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_share_the_batches_without_double_imports(postgres_required, monkeypatch):
    import threading

    from django.db import connection

    monkeypatch.setattr(import_services, "IMPORT_BATCH_SIZE", 7)
    imp = _start("id,review\n" + "".join(f"{n},Review number {n}\n" for n in range(200)))
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(review_import.run_review_import(import_id=imp.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    imp.refresh_from_db()
    assert results == [True, True]
    assert (imp.status, imp.rows_processed, imp.rows_imported, imp.rows_duplicate) == (
        "done", 200, 200, 0,
    )
    assert Feedback.objects.count() == 200


# --- Abandoned uploads ----------------------------------------------------------------------


def _uploaded_days_ago(days, *, started=False):
    imp = _start(GOOGLE_CSV) if started else review_import.create_review_import(
        upload=_upload(GOOGLE_CSV)
    )
    ReviewImport.objects.filter(pk=imp.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )
    return imp


def test_uploads_left_at_the_mapping_a_week_are_deleted_with_their_file(
    import_dir, no_broker, django_capture_on_commit_callbacks
):
    from feedback.tasks import delete_abandoned_review_imports_task

    abandoned = _uploaded_days_ago(8)
    recent = _uploaded_days_ago(6)
    started = _uploaded_days_ago(30, started=True)

    with django_capture_on_commit_callbacks(execute=True):
        assert delete_abandoned_review_imports_task() == 1

    assert set(ReviewImport.objects.values_list("pk", flat=True)) == {recent.pk, started.pk}
    assert not ReviewImport.objects.filter(pk=abandoned.pk).exists()
    assert sorted(p.name for p in import_dir.iterdir()) == sorted(
        [recent.stored_name, started.stored_name]
    )


def test_how_long_an_upload_waits_for_its_mapping_is_a_setting(
    settings, no_broker, django_capture_on_commit_callbacks
):
    settings.REVIEW_IMPORT_ABANDONED_DAYS = 30
    kept = _uploaded_days_ago(8)
    gone = _uploaded_days_ago(31)
    with django_capture_on_commit_callbacks(execute=True):
        assert review_import.delete_abandoned_review_imports() == 1
    assert list(ReviewImport.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ReviewImport.objects.filter(pk=gone.pk).exists()


def test_abandoned_uploads_are_cleaned_up_daily_by_beat():
    from config.celery import DEFAULT_BEAT_SCHEDULE, app

    (entry,) = [
        e for e in DEFAULT_BEAT_SCHEDULE.values()
        if e["task"] == "feedback.tasks.delete_abandoned_review_imports_task"
    ]
    assert entry["task"] in app.tasks
    assert entry["schedule"].remaining_estimate(timezone.now()) <= dt.timedelta(days=1)
    assert entry["schedule"].hour == {3}
