"""Dashboard page times at about a million feedback rows, against a trivial page.

    DATABASE_URL=postgres://…/scratch python bench/dashboard.py --seed 1000000
    DATABASE_URL=postgres://…/scratch python bench/dashboard.py            # reuse the data

``--seed N`` migrates the database and, when it holds fewer than N feedback rows, adds
the missing ones in SQL (two years of analysed feedback over 20 products, 8 channels and
20,000 customers, a third anonymous; 10 live segments of 2,000 customers each), then
rebuilds the rollups. Use a scratch database: the rows stay.

Then each page is fetched ``--repeat`` times in process through Django's test client as a
signed-in manager (after one warm-up), the same way as the baseline ``/healthz/``, and
one JSON line per page gives p50 and p95 in milliseconds, both as ratios of the
baseline's, and the page's SQL query count.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from feedback.models import Customer, Feedback, Product  # noqa: E402

CHANNELS = [choice for choice, _ in Feedback.Channel.choices]
PRODUCTS = 20
CUSTOMERS = 20_000
SEGMENTS = 10
SEGMENT_SIZE = 2_000
HISTORY_MINUTES = 730 * 24 * 60


def _constant_columns() -> tuple[list[str], list]:
    """NOT NULL columns the seed does not set itself, with their model defaults."""
    varying = {
        "id",
        "channel",
        "text",
        "received_at",
        "created_at",
        "product",
        "customer",
        "sentiment_score",
        "sentiment_label",
        "analysed_at",
    }
    names, values = [], []
    for field in Feedback._meta.concrete_fields:
        if field.name in varying or field.null:
            continue
        names.append(field.column)
        values.append(field.get_db_prep_save(field.get_default(), connection))
    return names, values


def seed(target: int) -> None:
    from customization.models import Segment
    from insights import services

    call_command("migrate", verbosity=0)
    missing = target - Feedback.objects.count()
    if missing <= 0:
        return
    products = list(Product.objects.order_by("id").values_list("id", flat=True)[:PRODUCTS])
    if len(products) < PRODUCTS:
        Product.objects.bulk_create(
            Product(name=f"Bench product {n}", slug=f"bench-product-{n}")
            for n in range(len(products), PRODUCTS)
        )
        products = list(Product.objects.order_by("id").values_list("id", flat=True)[:PRODUCTS])
    if Customer.objects.count() < CUSTOMERS:
        Customer.objects.bulk_create(
            (
                Customer(
                    name=f"Bench customer {n}",
                    email=f"bench{n}@example.com",
                    kind="internal" if n % 5 == 0 else "external",
                    department="Operations" if n % 5 == 0 else "",
                )
                for n in range(CUSTOMERS)
            ),
            batch_size=5000,
        )
    customers = list(Customer.objects.order_by("id").values_list("id", flat=True)[:CUSTOMERS])
    if not Segment.objects.filter(name__startswith="Bench segment").exists():
        through = Segment.customers.through
        for n in range(SEGMENTS):
            segment = Segment.objects.create(name=f"Bench segment {n}")
            members = customers[n * 1_500 : n * 1_500 + SEGMENT_SIZE]
            through.objects.bulk_create(
                [through(segment_id=segment.pk, customer_id=c) for c in members], batch_size=5000
            )
            Segment.objects.filter(pk=segment.pk).update(member_count=len(members))
    names, values = _constant_columns()
    constants = ", ".join(names)
    placeholders = ", ".join(["%s"] * len(values))
    # g spreads rows evenly over two years, channels, products and customers; the score
    # gives a realistic mix of labels.
    sql = f"""
        INSERT INTO feedback_feedback (
            channel, text, received_at, created_at, product_id, customer_id,
            sentiment_score, sentiment_label, analysed_at{", " if names else ""}{constants}
        )
        SELECT
            (%s::text[])[1 + g %% {len(CHANNELS)}],
            'Bench feedback ' || g,
            now() - (g %% {HISTORY_MINUTES}) * interval '1 minute',
            now(),
            (%s::bigint[])[1 + (g * 7) %% {len(products)}],
            CASE WHEN g %% 3 = 0 THEN NULL
                 ELSE (%s::bigint[])[1 + (g * 13) %% {len(customers)}] END,
            ((g * 37) %% 200 - 100) / 100.0,
            CASE WHEN (g * 37) %% 200 < 60 THEN 'negative'
                 WHEN (g * 37) %% 200 < 110 THEN 'neutral' ELSE 'positive' END,
            now(){", " if names else ""}{placeholders}
        FROM generate_series(1, %s) AS g
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [CHANNELS, products, customers, *values, missing])
        cursor.execute("ANALYZE")
    services.rebuild_rollups()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(client: Client, url: str, repeat: int) -> dict:
    client.get(url, secure=True)  # warm-up: caches, connection, template loading
    times = []
    reset_queries()  # request_started clears the log too; start both counts at zero
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, secure=True)
    assert response.status_code == 200, (url, response.status_code)
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, secure=True)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * len(times))) - 1)], 1),
        "queries": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0, help="make sure this many rows exist")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database.")
    if args.seed:
        started = time.perf_counter()
        seed(args.seed)
        print(json.dumps({"seeded_seconds": round(time.perf_counter() - started, 1)}))
    settings.ALLOWED_HOSTS = ["*"]
    from django.contrib.auth import get_user_model

    from customization.models import Segment
    from feedback.tests.factories import UserFactory

    user = get_user_model().objects.filter(username="bench_manager").first()
    user = user or UserFactory(username="bench_manager", role="manager")
    client = Client()
    client.force_login(user)
    segment = Segment.objects.live().filter(name__startswith="Bench segment").first()
    product = Product.objects.filter(slug__startswith="bench-product").first()
    pages = {
        "baseline /healthz/": "/healthz/",
        "overview, 30 days": "/insights/",
        "overview, 12 months": "/insights/?days=365",
        "overview, one product, by month": f"/insights/?product={product.slug}&interval=month"
        if product
        else "/insights/?interval=month",
        "overview, one segment": f"/insights/?segment={segment.pk}" if segment else "/insights/",
        "products and segments, 30 days": "/insights/rankings/",
        "products and segments, 90 days": "/insights/rankings/?days=90",
    }
    rows = Feedback.objects.count()
    results = {name: measure(client, url, args.repeat) for name, url in pages.items()}
    baseline = results["baseline /healthz/"]
    for name, result in results.items():
        print(
            json.dumps(
                {
                    "page": name,
                    "url": pages[name],
                    "feedback_rows": rows,
                    **result,
                    "p50_vs_baseline": round(result["p50_ms"] / baseline["p50_ms"], 1),
                    "p95_vs_baseline": round(result["p95_ms"] / baseline["p95_ms"], 1),
                }
            )
        )


if __name__ == "__main__":
    main()
