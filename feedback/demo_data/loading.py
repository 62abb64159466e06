"""Writes the demo organisation: customers, products and a year of analysed feedback.

``manage.py seed_demo`` calls ``load_demo_organisation``. What it writes is plain data from
the ORM-free modules of this package.

Why this bypasses ``feedback.services.record_feedback``: that service is the door for real
submissions — one row per call, validation of untrusted input, tag look-ups and an analysis
trigger after commit. Demo rows are generated, valid by construction, and a benchmark set
has a million of them. So this loader writes them already analysed, with ``bulk_create`` in
chunks (no per-row save, signal or trigger), scores the texts with the model the worker uses
(``insights.analysis.sentiment``), and refreshes the daily rollup once at the end. It is
for demo and benchmark databases, never for real feedback.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from feedback.models import Customer, Feedback, Product, Tag
from insights.analysis import sentiment
from insights.services import refresh_daily_stats

from . import phrases
from .customers import DEMO_EMAIL_SUFFIX, CustomerSeed, customer_count_for, generate_customers
from .feedback_rows import ALL_TAGS, CONSENT_TEXT, FeedbackSeed, generate_feedback

DEFAULT_SIZE = 20_000
DEFAULT_SEED = 42
# Rows per bulk INSERT and per scoring pass; one chunk of rows is in memory at a time.
CHUNK_SIZE = 5_000
# Distinct texts whose sentiment is remembered; past this the cache starts afresh.
SCORE_CACHE_LIMIT = 200_000
CUSTOMER_BATCH_SIZE = 2_000
DEMO_PRODUCT_SLUGS = tuple(slug for slug, _, _ in phrases.PRODUCTS)


@dataclass(frozen=True)
class DemoLoadSummary:
    feedback: int
    tagged_feedback: int
    customers: int
    internal_customers: int
    products: int
    flushed_feedback: int
    seconds: float


def load_demo_organisation(
    *,
    size: int = DEFAULT_SIZE,
    seed: int = DEFAULT_SEED,
    flush: bool = False,
    now: dt.datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> DemoLoadSummary:
    """Write the demo organisation with ``size`` feedback rows received over the year to now.

    Appends to what is there (demo products are reused); ``flush=True`` first deletes the
    earlier demo feedback, customers and products. Everything happens in one transaction,
    so a failed load leaves the database as it was. ``now`` (rounded down to the hour) is
    where the year ends; ``progress`` is called with the rows written after each chunk.
    """
    if size < 1:
        raise ValueError("size must be at least 1")
    started = time.monotonic()
    anchor = (now or timezone.now()).astimezone(dt.UTC)
    anchor = anchor.replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        flushed = flush_demo_organisation() if flush else 0
        product_ids = _ensure_products()
        customer_seeds = generate_customers(count=customer_count_for(size), seed=seed)
        customer_ids = _create_customers(customer_seeds)
        tag_ids = _ensure_tags(ALL_TAGS)
        # External ids continue past the highest feedback id, so appending never collides.
        sequence_start = Feedback.objects.aggregate(highest=Max("id"))["highest"] or 0
        rows = generate_feedback(
            size=size,
            seed=seed,
            now=anchor,
            customers=customer_seeds,
            sequence_start=sequence_start,
        )
        scorer = _CachedScorer()
        written = tagged = 0
        for chunk in _chunks(rows, chunk_size):
            objects, tag_names = _build_feedback(chunk, scorer, product_ids, customer_ids)
            tagged += _insert_feedback(objects, tag_names, tag_ids)
            written += len(objects)
            if progress is not None:
                progress(written)
        refresh_daily_stats(days=None)
    return DemoLoadSummary(
        feedback=written,
        tagged_feedback=tagged,
        customers=len(customer_seeds),
        internal_customers=sum(c.kind == Customer.Kind.INTERNAL for c in customer_seeds),
        products=len(product_ids),
        flushed_feedback=flushed,
        seconds=time.monotonic() - started,
    )


def flush_demo_organisation() -> int:
    """Delete demo feedback, customers and products; return the feedback rows deleted.

    Demo customers are those with a ``.example`` address, demo products those with a demo
    slug; every demo feedback row points to one or the other.
    """
    customers = Customer.objects.filter(email__endswith=DEMO_EMAIL_SUFFIX)
    products = Product.objects.filter(slug__in=DEMO_PRODUCT_SLUGS)
    feedback = Feedback.objects.filter(Q(customer__in=customers) | Q(product__in=products))
    Feedback.tags.through.objects.filter(feedback__in=feedback).delete()
    # With the tag links gone nothing else refers to these rows, so one plain DELETE does;
    # QuerySet.delete() would load every row (a million for the benchmark set) to cascade.
    deleted = feedback._raw_delete(feedback.db)
    customers.delete()
    products.delete()
    return deleted


def _ensure_products() -> dict[str, int]:
    existing = dict(Product.objects.filter(slug__in=DEMO_PRODUCT_SLUGS).values_list("slug", "id"))
    missing = [
        Product(slug=slug, name=name, description=description)
        for slug, name, description in phrases.PRODUCTS
        if slug not in existing
    ]
    Product.objects.bulk_create(missing)
    return dict(Product.objects.filter(slug__in=DEMO_PRODUCT_SLUGS).values_list("slug", "id"))


def _create_customers(seeds: Sequence[CustomerSeed]) -> list[int]:
    customers = [
        Customer(
            name=seed.name,
            email=seed.email,
            kind=seed.kind,
            department=seed.department,
            account=seed.account,
            tier=seed.tier,
            annual_value=seed.annual_value,
            attributes=seed.attributes,
            consent_contact=seed.consent_contact,
            consent_research=seed.consent_research,
        )
        for seed in seeds
    ]
    Customer.objects.bulk_create(customers, batch_size=CUSTOMER_BATCH_SIZE)
    return [customer.pk for customer in customers]


def _ensure_tags(names: Iterable[str]) -> dict[str, int]:
    names = list(names)
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return dict(Tag.objects.filter(name__in=names).values_list("name", "id"))


class _CachedScorer:
    """VADER scores per distinct text: texts repeat (about half of a million-row set)."""

    def __init__(self, limit: int = SCORE_CACHE_LIMIT):
        self.limit = limit
        self.cache: dict[str, sentiment.SentimentResult] = {}

    def score(self, texts: Sequence[str]) -> list[sentiment.SentimentResult]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if len(self.cache) + len(missing) > self.limit:
            self.cache.clear()
            missing = list(dict.fromkeys(texts))
        self.cache.update(zip(missing, sentiment.score_texts(missing), strict=True))
        return [self.cache[t] for t in texts]


_DECIMALS = {value: Decimal(value) for value in range(0, 11)}


def _build_feedback(
    rows: Sequence[FeedbackSeed],
    scorer: _CachedScorer,
    product_ids: dict[str, int],
    customer_ids: Sequence[int],
) -> tuple[list[Feedback], list[tuple[str, ...]]]:
    """Unsaved, analysed ``Feedback`` objects for one chunk, and each one's tag names."""
    scores = scorer.score([row.text for row in rows])
    analysed_at = timezone.now()
    model_name = sentiment.MODEL_NAME
    objects = []
    for row, result in zip(rows, scores, strict=True):
        rated = row.rating is not None
        objects.append(
            Feedback(
                channel=row.channel,
                source=row.source,
                external_id=row.external_id,
                text=row.text,
                rating=_DECIMALS[row.rating] if rated else None,
                rating_min=_DECIMALS[row.rating_min] if rated else None,
                rating_max=_DECIMALS[row.rating_max] if rated else None,
                rating_normalised=row.rating_normalised,
                received_at=row.received_at,
                customer_id=None
                if row.customer_index is None
                else customer_ids[row.customer_index],
                product_id=None if row.product_slug is None else product_ids[row.product_slug],
                submitter_name=row.submitter_name,
                submitter_email=row.submitter_email,
                consent=row.consent,
                consent_text=CONSENT_TEXT if row.consent else "",
                status=row.status,
                sentiment_score=result.score,
                sentiment_label=result.label,
                sentiment_model=model_name,
                analysed_at=analysed_at,
            )
        )
    return objects, [row.tags for row in rows]


def _insert_feedback(
    objects: list[Feedback], tag_names: Sequence[tuple[str, ...]], tag_ids: dict[str, int]
) -> int:
    """Insert one chunk and its tag links; return how many rows are tagged."""
    Feedback.objects.bulk_create(objects)
    through = Feedback.tags.through
    links = [
        through(feedback_id=obj.pk, tag_id=tag_ids[name])
        for obj, names in zip(objects, tag_names, strict=True)
        for name in names
    ]
    through.objects.bulk_create(links)
    return sum(1 for names in tag_names if names)


def _chunks(rows: Iterable[FeedbackSeed], size: int) -> Iterator[list[FeedbackSeed]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk
