"""Dashboard page times at 10k and at about a million feedback rows, against a trivial page.

    python bench/dashboard.py --small postgres://…/bench_10k --large postgres://…/bench_1m \
        --seed-small 10000 --seed-large 1000000
    python bench/dashboard.py --small … --large …          # reuse the data

Each database is measured in its own process (``DATABASE_URL`` set to it). ``--seed-…``
creates the database when missing, migrates it and, when it holds fewer feedback rows than
asked, adds the missing ones in SQL (two years of analysed feedback over 20 products,
8 channels and 20,000 customers, a third anonymous; 10 live segments of 2,000 customers
each; 12 themes on every fourth feedback), then rebuilds the rollups. Use scratch
databases: the rows stay.

Each page is fetched ``--repeat`` times in process through Django's test client as a
signed-in manager (after one warm-up), the same way as the baseline ``/healthz/``. The
table gives p50 and p95 in milliseconds and as ratios of the baseline's in the same run,
the page's SQL query count, the ratio of the large to the small p95 and PASS/FAIL against
the targets (p95 < 200 ms at the large size, large p95 ≤ 2 × small p95). ``--json`` prints
one JSON line per page and size instead.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
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
THEMES = 12
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
        from insights.models import DailySegmentStat

        if seed_themes():
            services.rebuild_rollups()
        elif not DailySegmentStat.objects.exists():
            services.refresh_daily_segment_stats()
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
    seed_themes()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    services.rebuild_rollups()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def seed_themes() -> bool:
    """Bench themes on every fourth feedback, when there are none yet; True if added."""
    from insights.models import FeedbackTheme, Theme

    if Theme.objects.filter(slug__startswith="bench-theme").exists():
        return False
    themes = Theme.objects.bulk_create(
        Theme(name=f"Bench theme {n}", slug=f"bench-theme-{n}") for n in range(THEMES)
    )
    ids = [theme.pk for theme in themes]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {FeedbackTheme._meta.db_table} (feedback_id, theme_id, score, source)
            SELECT id, (%s::bigint[])[1 + (id / 4) %% {THEMES}], 0.8, 'model'
            FROM feedback_feedback WHERE id %% 4 = 0
            """,
            [ids],
        )
        cursor.execute("ANALYZE")
    return True


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


def pages() -> dict[str, str]:
    from customization.models import Segment
    from insights.models import Theme

    segment = Segment.objects.live().filter(name__startswith="Bench segment").first()
    product = Product.objects.filter(slug__startswith="bench-product").first()
    theme = Theme.objects.filter(slug__startswith="bench-theme").first()
    return {
        "baseline /healthz/": "/healthz/",
        "overview, 30 days": "/insights/",
        "overview, 12 months": "/insights/?days=365",
        "overview, one product": f"/insights/?product={product.slug}",
        "overview, one segment": f"/insights/?segment={segment.pk}",
        "themes": "/insights/themes/",
        "one theme": f"/insights/themes/{theme.pk}/",
        "products and segments, 30 days": "/insights/rankings/",
        "products and segments, 90 days": "/insights/rankings/?days=90",
    }


def run(seed_rows: int, repeat: int, cold: bool) -> None:
    """Measure the database in ``DATABASE_URL``: one JSON line per page."""
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database.")
    if seed_rows:
        started = time.perf_counter()
        seed(seed_rows)
        print(
            json.dumps({"seeded_seconds": round(time.perf_counter() - started, 1)}), file=sys.stderr
        )
    from insights.models import RollupVersion
    from insights.services import bump_rollup_version

    if not RollupVersion.objects.exists():
        bump_rollup_version()  # rollups counted before versions existed
    settings.ALLOWED_HOSTS = ["*"]
    if cold:  # every request computes its dashboard blocks again
        settings.INSIGHTS_DASHBOARD_CACHE_SECONDS = 0
    from django.contrib.auth import get_user_model

    from feedback.tests.factories import UserFactory

    user = get_user_model().objects.filter(username="bench_manager").first()
    user = user or UserFactory(username="bench_manager", role="manager")
    client = Client()
    client.force_login(user)
    urls = pages()
    rows = Feedback.objects.count()
    for name, url in urls.items():
        print(
            json.dumps(
                {
                    "page": name,
                    "url": url,
                    "feedback_rows": rows,
                    **measure(client, url, repeat),
                }
            ),
            flush=True,
        )


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist."""
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def measure_database(url: str, seed_rows: int, repeat: int, cold: bool) -> dict[str, dict]:
    if seed_rows:
        ensure_database(url)
    command = [sys.executable, os.path.abspath(__file__), "--run", "--repeat", str(repeat)]
    if seed_rows:
        command += ["--seed", str(seed_rows)]
    if cold:
        command.append("--cold")
    output = subprocess.run(
        command,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    results = {}
    for line in output.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["page"]] = row
    return results


P95_TARGET_MS = 200
GROWTH_TARGET = 2.0


def report(small: dict, large: dict) -> list[dict]:
    """Per page: both sizes, ratios to the baseline and between sizes, PASS/FAIL."""
    lines = []
    base_small, base_large = small["baseline /healthz/"], large["baseline /healthz/"]
    for name, big in large.items():
        little = small[name]
        growth = round(big["p95_ms"] / little["p95_ms"], 2)
        ok = name.startswith("baseline") or (
            big["p95_ms"] < P95_TARGET_MS and growth <= GROWTH_TARGET
        )
        lines.append(
            {
                "page": name,
                "small_rows": little["feedback_rows"],
                "small_p50_ms": little["p50_ms"],
                "small_p95_ms": little["p95_ms"],
                "small_p95_vs_baseline": round(little["p95_ms"] / base_small["p95_ms"], 1),
                "large_rows": big["feedback_rows"],
                "large_p50_ms": big["p50_ms"],
                "large_p95_ms": big["p95_ms"],
                "large_p95_vs_baseline": round(big["p95_ms"] / base_large["p95_ms"], 1),
                "large_vs_small_p95": growth,
                "queries_small": little["queries"],
                "queries_large": big["queries"],
                "result": "PASS" if ok else "FAIL",
            }
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", help="PostgreSQL URL of the small data set")
    parser.add_argument("--large", help="PostgreSQL URL of the large data set")
    parser.add_argument("--seed-small", type=int, default=0, help="make sure this many rows")
    parser.add_argument("--seed-large", type=int, default=0, help="make sure this many rows")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument("--cold", action="store_true", help="no cached dashboard blocks")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.seed, args.repeat, args.cold)
        return
    if not (args.small and args.large):
        parser.error("give --small and --large database URLs")
    small = measure_database(args.small, args.seed_small, args.repeat, args.cold)
    large = measure_database(args.large, args.seed_large, args.repeat, args.cold)
    lines = report(small, large)
    if args.json:
        for line in lines:
            print(json.dumps(line))
        return
    header = (
        f"{'page':32} {'10k p50':>8} {'10k p95':>8} {'1M p50':>8} {'1M p95':>8} "
        f"{'p95/base':>8} {'1M/10k':>7} {'queries':>8}  result"
    )
    print(
        f"small: {lines[0]['small_rows']:,} rows, large: {lines[0]['large_rows']:,} rows (ms)"
        f"{', dashboard cache off' if args.cold else ''}"
    )
    print(header)
    for line in lines:
        print(
            f"{line['page']:32} {line['small_p50_ms']:8.1f} {line['small_p95_ms']:8.1f} "
            f"{line['large_p50_ms']:8.1f} {line['large_p95_ms']:8.1f} "
            f"{line['large_p95_vs_baseline']:8.1f} {line['large_vs_small_p95']:7.2f} "
            f"{line['queries_small']:>3}/{line['queries_large']:<4}  {line['result']}"
        )


if __name__ == "__main__":
    main()
