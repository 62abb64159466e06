"""Dashboard page times on the 10k-row and the 1M-row demo data sets, cached and cold,
against a trivial page.

    python manage.py seed_demo --size 10000      # DATABASE_URL=…/bench_10k
    python manage.py seed_demo --size 1000000    # DATABASE_URL=…/bench_1m
    python bench/dashboard.py --small postgres://…/bench_10k --large postgres://…/bench_1m

Each database holds the demo organisation written by ``seed_demo --size``; with
``--seed-small N`` / ``--seed-large N`` the script creates, migrates and seeds a database
that has no feedback yet the same way. The demo data has no segments and no themes, so
the script adds them once on top (10 live segments of a fifth of the customers each;
12 themes on every fourth feedback) and rebuilds the rollups; the feedback rows are the
demo ones. Each database is measured in its own process (``DATABASE_URL`` set to it).

Each page is fetched ``--repeat`` times in process through Django's test client as a
signed-in manager (after one warm-up), the same way as the baseline ``/healthz/``: first
with the dashboard cache on (repeated requests, served from cached blocks), then with it
off (cold: every request computes its blocks from the rollups, as the first request after
a recount does). The tables give p50 and p95 in milliseconds, the large p95 as a ratio of
the baseline's in the same run, the page's SQL query count, the ratio of the large to the
small p95 and PASS/FAIL against the targets (p95 < 200 ms at the large size, large p95 ≤
2 × small p95). ``--json`` prints one JSON line per page, mode and size instead.
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

SEGMENTS = 10
THEMES = 12
MODES = ("cached", "cold")


def prepare(seed_rows: int) -> None:
    """Migrate; seed the demo organisation when the database has no feedback and
    ``seed_rows`` is given; add the bench segments and themes once and recount."""
    from insights import services
    from insights.models import DailyThemeSegmentStat

    call_command("migrate", verbosity=0)
    if not Feedback.objects.exists():
        if not seed_rows:
            sys.exit("No feedback: run `manage.py seed_demo --size N` first (or --seed-…).")
        call_command("seed_demo", size=seed_rows, verbosity=0)
    added = seed_segments() | seed_themes()
    if added or not DailyThemeSegmentStat.objects.exists():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        services.rebuild_rollups()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def seed_segments() -> bool:
    """Bench segments over the demo customers, when there are none yet; True if added."""
    from customization.models import Segment

    if Segment.objects.filter(name__startswith="Bench segment").exists():
        return False
    customers = list(Customer.objects.order_by("id").values_list("id", flat=True))
    size, step = len(customers) // 5, len(customers) // 20
    through = Segment.customers.through
    for n in range(SEGMENTS):
        segment = Segment.objects.create(name=f"Bench segment {n}")
        members = customers[n * step : n * step + size]
        through.objects.bulk_create(
            [through(segment_id=segment.pk, customer_id=c) for c in members], batch_size=5000
        )
        Segment.objects.filter(pk=segment.pk).update(member_count=len(members))
    return True


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
            ON CONFLICT DO NOTHING
            """,
            [ids],
        )
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
    product = Product.objects.order_by("id").first()
    theme = Theme.objects.filter(slug__startswith="bench-theme").first()
    return {
        "baseline /healthz/": "/healthz/",
        "overview, 30 days": "/insights/",
        "overview, 12 months": "/insights/?days=365",
        "overview, one product": f"/insights/?product={product.slug}",
        "overview, one segment": f"/insights/?segment={segment.pk}",
        "overview, one theme": f"/insights/?theme={theme.pk}",
        "themes": "/insights/themes/",
        "one theme": f"/insights/themes/{theme.pk}/",
        "products and segments, 30 days": "/insights/rankings/",
        "products and segments, 90 days": "/insights/rankings/?days=90",
    }


def run(seed_rows: int, repeat: int) -> None:
    """Measure the database in ``DATABASE_URL``: one JSON line per page and mode."""
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database.")
    started = time.perf_counter()
    prepare(seed_rows)
    print(
        json.dumps({"prepared_seconds": round(time.perf_counter() - started, 1)}), file=sys.stderr
    )
    from insights.models import RollupVersion
    from insights.services import bump_rollup_version

    if not RollupVersion.objects.exists():
        bump_rollup_version()  # rollups counted before versions existed
    settings.ALLOWED_HOSTS = ["*"]
    from django.contrib.auth import get_user_model

    from feedback.tests.factories import UserFactory

    user = get_user_model().objects.filter(username="bench_manager").first()
    user = user or UserFactory(username="bench_manager", role="manager")
    client = Client()
    client.force_login(user)
    urls = pages()
    rows = Feedback.objects.count()
    cache_seconds = settings.INSIGHTS_DASHBOARD_CACHE_SECONDS
    for mode in MODES:
        # Cold: every request computes its dashboard blocks again.
        settings.INSIGHTS_DASHBOARD_CACHE_SECONDS = cache_seconds if mode == "cached" else 0
        for name, url in urls.items():
            result = measure(client, url, repeat)
            line = {"page": name, "mode": mode, "url": url, "feedback_rows": rows, **result}
            print(json.dumps(line), flush=True)


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


def measure_database(url: str, seed_rows: int, repeat: int) -> dict[tuple[str, str], dict]:
    if seed_rows:
        ensure_database(url)
    command = [sys.executable, os.path.abspath(__file__), "--run", "--repeat", str(repeat)]
    if seed_rows:
        command += ["--seed", str(seed_rows)]
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
            results[(row["mode"], row["page"])] = row
    return results


P95_TARGET_MS = 200
GROWTH_TARGET = 2.0


def report(small: dict, large: dict) -> list[dict]:
    """Per page and mode: both sizes, ratios to the baseline and between sizes,
    PASS/FAIL."""
    lines = []
    for (mode, name), big in large.items():
        little = small[(mode, name)]
        base_large = large[(mode, "baseline /healthz/")]
        growth = round(big["p95_ms"] / little["p95_ms"], 2)
        ok = name.startswith("baseline") or (
            big["p95_ms"] < P95_TARGET_MS and growth <= GROWTH_TARGET
        )
        lines.append(
            {
                "page": name,
                "mode": mode,
                "small_rows": little["feedback_rows"],
                "small_p50_ms": little["p50_ms"],
                "small_p95_ms": little["p95_ms"],
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
    parser.add_argument("--small", help="PostgreSQL URL of the 10k-row demo data set")
    parser.add_argument("--large", help="PostgreSQL URL of the 1M-row demo data set")
    parser.add_argument("--seed-small", type=int, default=0, help="seed_demo size if empty")
    parser.add_argument("--seed-large", type=int, default=0, help="seed_demo size if empty")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="JSON lines instead of tables")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.seed, args.repeat)
        return
    if not (args.small and args.large):
        parser.error("give --small and --large database URLs")
    small = measure_database(args.small, args.seed_small, args.repeat)
    large = measure_database(args.large, args.seed_large, args.repeat)
    lines = report(small, large)
    if args.json:
        for line in lines:
            print(json.dumps(line))
        return
    print(f"small: {lines[0]['small_rows']:,} rows, large: {lines[0]['large_rows']:,} rows (ms)")
    for mode in MODES:
        print(f"\n{mode}")
        print(
            f"{'page':32} {'10k p50':>8} {'10k p95':>8} {'1M p50':>8} {'1M p95':>8} "
            f"{'p95/base':>8} {'1M/10k':>7} {'queries':>8}  result"
        )
        for line in (line for line in lines if line["mode"] == mode):
            print(
                f"{line['page']:32} {line['small_p50_ms']:8.1f} {line['small_p95_ms']:8.1f} "
                f"{line['large_p50_ms']:8.1f} {line['large_p95_ms']:8.1f} "
                f"{line['large_p95_vs_baseline']:8.1f} {line['large_vs_small_p95']:7.2f} "
                f"{line['queries_small']:>3}/{line['queries_large']:<4}  {line['result']}"
            )


if __name__ == "__main__":
    main()
