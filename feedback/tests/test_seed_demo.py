"""seed_demo: the demo organisation a fresh install and the benchmark start from."""

import datetime as dt
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg, Sum
from django.utils import timezone

from feedback.demo_data import customers as demo_customers
from feedback.demo_data import feedback_rows, phrases
from feedback.demo_data.loading import DEFAULT_SIZE
from feedback.models import Customer, Feedback, Product, Tag
from feedback.services import record_feedback
from insights.analysis import sentiment
from insights.models import DailyFeedbackStat

SMALL = 300
# Big enough for shares over six weeks of one product to mean something, still ~1 s.
MEDIUM = 2_000
INTERNAL_SERVICE_WORDS = (
    "helpdesk", "it ticket", "payroll", "onboarding", "expense", "vpn", "intranet", "laptop",
    "travel", "hr portal", "procurement", "canteen", "room",
)  # fmt: skip


def seed_demo(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def feedback_content() -> list[tuple]:
    return list(
        Feedback.objects.order_by("id").values_list(
            "channel",
            "source",
            "text",
            "rating",
            "status",
            "product__slug",
            "customer__email",
            "submitter_name",
        )
    )


def customer_content() -> list[tuple]:
    return list(
        Customer.objects.order_by("id").values_list(
            "name", "email", "kind", "department", "tier", "annual_value", "attributes"
        )
    )


def negative_share(rows) -> float:
    labels = [label for (label,) in rows.values_list("sentiment_label")]
    return sum(label == "negative" for label in labels) / len(labels)


@pytest.mark.django_db
def test_seed_demo_writes_the_requested_size_over_every_channel_and_prints_a_summary():
    output = seed_demo("--size", str(SMALL))

    assert Feedback.objects.count() == SMALL
    channels = Counter(Feedback.objects.values_list("channel", flat=True))
    assert set(channels) == set(Feedback.Channel.values)
    assert Product.objects.filter(slug__in=[slug for slug, _, _ in phrases.PRODUCTS]).count() == 5
    assert f"Seeded {SMALL} feedback" in output
    assert f"{Customer.objects.count()} customers" in output
    assert " s (seed 42)." in output


@pytest.mark.django_db
def test_seed_demo_writes_internal_customers_with_departments_and_tiered_external_ones():
    seed_demo("--size", str(MEDIUM))

    internal = Customer.objects.filter(kind=Customer.Kind.INTERNAL)
    external = Customer.objects.filter(kind=Customer.Kind.EXTERNAL)
    assert internal.exists() and external.exists()
    assert not internal.filter(department="").exists()
    assert set(internal.values_list("department", flat=True)) <= set(phrases.DEPARTMENTS)
    assert set(external.values_list("tier", flat=True)) == set(Customer.Tier.values)
    mean_value = {
        tier: external.filter(tier=tier).aggregate(mean=Avg("annual_value"))["mean"]
        for tier in Customer.Tier.values
    }
    assert mean_value["free"] == 0
    assert mean_value["standard"] < mean_value["premium"] < mean_value["enterprise"]
    assert {True, False} == set(external.values_list("consent_contact", flat=True))
    assert {True, False} == set(external.values_list("consent_research", flat=True))
    assert all(c.attributes.get("region") in phrases.REGIONS for c in external)
    assert external.exclude(account="").exists()
    assert all(c.email.endswith(demo_customers.DEMO_EMAIL_SUFFIX) for c in Customer.objects.all())


@pytest.mark.django_db
def test_internal_customers_talk_about_internal_services_without_a_product():
    seed_demo("--size", str(SMALL))

    internal_feedback = Feedback.objects.filter(customer__kind=Customer.Kind.INTERNAL)
    assert internal_feedback.count() > 10
    assert not internal_feedback.filter(product__isnull=False).exists()
    for text in internal_feedback.values_list("text", flat=True):
        assert any(word in text.lower() for word in INTERNAL_SERVICE_WORDS), text
    external_feedback = Feedback.objects.exclude(customer__kind=Customer.Kind.INTERNAL)
    assert not external_feedback.filter(product__isnull=True).exists()


@pytest.mark.django_db
def test_same_seed_gives_the_same_content_and_another_seed_different_content():
    seed_demo("--size", str(SMALL))
    first_feedback, first_customers = feedback_content(), customer_content()

    output = seed_demo("--size", str(SMALL), "--flush")
    assert f"{SMALL} earlier rows flushed" in output
    assert Feedback.objects.count() == SMALL
    assert feedback_content() == first_feedback
    assert customer_content() == first_customers

    seed_demo("--size", str(SMALL), "--flush", "--seed", "7")
    other = feedback_content()
    assert len(other) == SMALL
    assert [row[2] for row in other] != [row[2] for row in first_feedback]
    assert customer_content() != first_customers


def test_content_does_not_depend_on_the_time_of_the_run():
    people = demo_customers.generate_customers(count=50, seed=3)
    tuesday_morning = dt.datetime(2025, 3, 4, 9, tzinfo=dt.UTC)
    saturday_night = dt.datetime(2025, 8, 16, 23, tzinfo=dt.UTC)

    def generate(now):
        return list(feedback_rows.generate_feedback(size=500, seed=3, now=now, customers=people))

    early, late = generate(tuesday_morning), generate(saturday_night)

    assert [(r.text, r.rating, r.channel, r.customer_index, r.status) for r in early] == [
        (r.text, r.rating, r.channel, r.customer_index, r.status) for r in late
    ]
    for rows, now in ((early, tuesday_morning), (late, saturday_night)):
        received = [r.received_at for r in rows]
        assert received == sorted(received)
        assert now - dt.timedelta(days=366) <= received[0] and received[-1] < now


@pytest.mark.django_db
def test_checkout_crash_complaints_emerge_in_the_last_six_weeks_for_the_mobile_app():
    seed_demo("--size", str(MEDIUM))
    six_weeks_ago = timezone.now() - dt.timedelta(weeks=6)
    mobile = Feedback.objects.filter(product__slug=phrases.PROBLEM_PRODUCT)

    recent = mobile.filter(received_at__gte=six_weeks_ago)
    before = mobile.filter(received_at__lt=six_weeks_ago)
    assert recent.count() >= 50
    assert negative_share(recent) >= negative_share(before) + 0.15

    crashes = Feedback.objects.filter(text__icontains="crash")
    assert crashes.count() >= 10
    assert not crashes.exclude(product__slug=phrases.PROBLEM_PRODUCT).exists()
    # The update shipped six weeks ago; allow the day the calendar may shift a row by.
    assert not crashes.filter(received_at__lt=six_weeks_ago - dt.timedelta(days=2)).exists()
    assert negative_share(crashes) >= 0.8


@pytest.mark.django_db
def test_delivery_tracking_is_praised_all_year():
    seed_demo("--size", str(MEDIUM))

    tracking = Feedback.objects.filter(text__icontains="tracking")
    assert tracking.count() >= 50
    assert not tracking.exclude(product__slug=phrases.PRAISED_PRODUCT).exists()
    labels = Counter(tracking.values_list("sentiment_label", flat=True))
    assert labels["positive"] / tracking.count() >= 0.85
    half_year_ago = timezone.now() - dt.timedelta(days=182)
    assert tracking.filter(received_at__lt=half_year_ago).count() >= 15


@pytest.mark.django_db
def test_rows_are_written_analysed_and_the_daily_rollup_counts_them_all():
    seed_demo("--size", str(SMALL))

    assert not Feedback.objects.unanalysed().exists()
    assert set(Feedback.objects.values_list("sentiment_model", flat=True)) == {sentiment.MODEL_NAME}
    sample = list(Feedback.objects.order_by("id")[:40])
    expected = sentiment.score_texts([row.text for row in sample])
    assert [(row.sentiment_score, row.sentiment_label) for row in sample] == [
        (result.score, result.label) for result in expected
    ]
    totals = DailyFeedbackStat.objects.aggregate(
        feedback=Sum("feedback_count"),
        analysed=Sum("analysed_count"),
        positive=Sum("positive_count"),
    )
    assert totals["feedback"] == totals["analysed"] == Feedback.objects.count() == SMALL
    assert totals["positive"] == Feedback.objects.filter(sentiment_label="positive").count()


@pytest.mark.django_db
def test_ratings_use_each_channels_scale_and_normalise_onto_zero_to_one():
    seed_demo("--size", str(MEDIUM))

    scales = set(
        Feedback.objects.exclude(rating=None).values_list("channel", "rating_min", "rating_max")
    )
    by_channel = {channel: (low, high) for channel, low, high in scales}
    assert len(by_channel) == len(scales)  # one scale per channel
    assert by_channel["review"] == (1, 5)
    assert by_channel["survey"] == (0, 10)
    assert by_channel["form"] == (1, 5)
    unrated = Feedback.objects.filter(channel__in=["email", "interview", "focus_group"])
    assert unrated.exists() and not unrated.exclude(rating=None).exists()
    assert not Feedback.objects.filter(channel="review", rating=None).exists()

    normalised = []
    for rating, low, high, value in Feedback.objects.exclude(rating=None).values_list(
        "rating", "rating_min", "rating_max", "rating_normalised"
    ):
        assert value == pytest.approx(float((rating - low) / (high - low)))
        normalised.append(value)
    assert min(normalised) == 0 and max(normalised) == 1
    mean_by_label = dict(
        Feedback.objects.exclude(rating=None)
        .values("sentiment_label")
        .annotate(mean=Avg("rating_normalised"))
        .values_list("sentiment_label", "mean")
    )
    assert mean_by_label["positive"] > mean_by_label["neutral"] > mean_by_label["negative"]


@pytest.mark.django_db
def test_volume_follows_the_week_and_grows_over_the_year():
    seed_demo("--size", str(MEDIUM))
    now = timezone.now()

    received = list(Feedback.objects.values_list("received_at", flat=True))
    weekdays = Counter(moment.weekday() for moment in received)
    per_weekday = sum(weekdays[day] for day in range(5)) / 5
    per_weekend_day = (weekdays[5] + weekdays[6]) / 2
    assert per_weekday > 1.5 * per_weekend_day
    last_quarter = sum(now - moment < dt.timedelta(days=91) for moment in received)
    first_quarter = sum(now - moment > dt.timedelta(days=274) for moment in received)
    assert last_quarter > 1.3 * first_quarter
    assert min(received) >= now - dt.timedelta(days=367)
    assert max(received) <= now


@pytest.mark.django_db
def test_appending_keeps_external_ids_unique_per_source_and_reuses_products():
    seed_demo("--size", str(SMALL))
    seed_demo("--size", str(SMALL))

    assert Feedback.objects.count() == 2 * SMALL
    assert Product.objects.count() == 5
    with_ids = Feedback.objects.filter(channel__in=["review", "import"])
    assert with_ids.count() > 20
    assert not with_ids.filter(external_id="").exists()
    pairs = list(with_ids.values_list("source", "external_id"))
    assert len(set(pairs)) == len(pairs)


@pytest.mark.django_db
def test_a_small_share_of_triaged_feedback_is_tagged_and_statuses_follow_age():
    seed_demo("--size", str(MEDIUM))
    now = timezone.now()

    tagged = Feedback.objects.filter(tags__isnull=False).distinct()
    assert 0.02 * MEDIUM < tagged.count() < 0.2 * MEDIUM
    assert not tagged.filter(status=Feedback.Status.NEW).exists()
    crash_tag = Tag.objects.get(name="checkout-crash")
    assert not crash_tag.feedback.exclude(product__slug=phrases.PROBLEM_PRODUCT).exists()

    old = Counter(
        Feedback.objects.filter(received_at__lt=now - dt.timedelta(days=35)).values_list(
            "status", flat=True
        )
    )
    recent = Counter(
        Feedback.objects.filter(received_at__gte=now - dt.timedelta(days=5)).values_list(
            "status", flat=True
        )
    )
    assert old["closed"] / sum(old.values()) > 0.45
    assert recent["new"] / sum(recent.values()) > 0.5


@pytest.mark.django_db
def test_some_texts_mix_praise_and_complaint():
    seed_demo("--size", str(SMALL))

    texts = list(Feedback.objects.values_list("text", flat=True))
    mixed = [t for t in texts if any(joiner in t for joiner in phrases.MIXED_JOINERS)]
    assert 0.02 * SMALL < len(mixed) < 0.3 * SMALL
    assert len(set(texts)) > 0.8 * len(texts)


@pytest.mark.django_db
def test_flush_deletes_only_demo_data():
    real_customer = Customer.objects.create(name="Real Person", email="real@customer.com")
    real = record_feedback(channel="form", text="A real submission.", customer=real_customer)
    seed_demo("--size", str(SMALL))

    seed_demo("--size", "50", "--flush")

    assert Feedback.objects.filter(pk=real.pk, customer=real_customer).exists()
    assert Feedback.objects.count() == 51
    assert DailyFeedbackStat.objects.aggregate(total=Sum("feedback_count"))["total"] == 51


@pytest.mark.django_db
def test_seed_demo_refuses_a_size_below_one():
    with pytest.raises(CommandError):
        seed_demo("--size", "0")
    assert not Feedback.objects.exists()


def test_customers_scale_modestly_with_size():
    assert demo_customers.customer_count_for(300) == 50
    assert demo_customers.customer_count_for(DEFAULT_SIZE) == 2_000
    assert demo_customers.customer_count_for(1_000_000) == 5_000
    assert demo_customers.customer_count_for(10**9) == demo_customers.MAX_CUSTOMERS


def test_customer_values_are_decimal_and_internal_ones_carry_a_department():
    people = demo_customers.generate_customers(count=400, seed=42)
    assert all(isinstance(c.annual_value, Decimal) for c in people)
    assert all(c.department for c in people if c.kind == demo_customers.INTERNAL)
    assert not any(c.department for c in people if c.kind == demo_customers.EXTERNAL)
    assert len({c.email for c in people}) == len(people)
