"""Nightly refresh of the idea backlog's evidence numbers and scores, at scale.

    python bench/backlog.py [--database fl_bench_backlog] [--feedback 1000000] [--ideas 1000]

Builds (once, then reuses) a PostgreSQL database of its own on the server of
``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``): the
schema by ``migrate``, then ``--feedback`` feedback rows from ``--customers`` customers in
``--segments`` segments (half of them weighted), ``--ideas`` ideas with
``--evidence-per-idea`` evidence links and ``--votes-per-idea`` votes, all loaded with
COPY (secondary indexes of the feedback table are dropped during the load and rebuilt).

Then, each in a fresh child process so its peak RSS is its own:

* ``refresh_all`` — ``refresh_idea_numbers()``, the nightly task's call, over every idea;
* ``refresh_10`` — the same over 10 ideas (what an evidence change costs);
* ``scan`` — the baseline: ``SELECT count(*)`` over the evidence ⋈ feedback join.

Prints a table and one JSON line (seconds, peak RSS MiB, the ratio of the nightly refresh
to the scan, and whether the targets — under 60 s and 1 GiB — are met). ``--drop`` removes
the database afterwards. Never touches the project's own database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from urllib.parse import urlparse, urlunparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
COPY_CHUNK = 100_000
TARGET_SECONDS = 60
TARGET_RSS_MIB = 1024
WORDS = (
    "app crashes at checkout invoice export fails delivery late courier refund slow "
    "login password search portal packaging chat phone wait basket payment card"
).split()


def _server_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _database_url(name: str) -> str:
    parts = urlparse(_server_url())
    return urlunparse(parts._replace(path=f"/{name}"))


def _connect(url: str):
    import psycopg2

    parts = urlparse(url)
    return psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=parts.path.lstrip("/"),
    )


def _admin(sql: str) -> list:
    connection = _connect(_server_url())
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else []
    connection.close()
    return rows


def _exists(name: str) -> bool:
    return bool(_admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


def _manage(database: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": _database_url(database), "DEBUG": "1"}
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "manage.py"), *args], check=True, env=env, cwd=ROOT
    )


# --- loading ------------------------------------------------------------------------------


def _not_null_defaults(cursor, table: str, given: list[str]) -> dict[str, str]:
    """A neutral value for each NOT NULL column without a database default that the
    loader does not fill (Django keeps defaults in Python, and other apps add columns)."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    values = {
        "boolean": "f",
        "integer": "0",
        "bigint": "0",
        "smallint": "0",
        "double precision": "0",
        "numeric": "0",
        "jsonb": "{}",
        "timestamp with time zone": "2026-01-01 00:00:00+00",
        "date": "2026-01-01",
    }
    return {
        column: values.get(kind, "")
        for column, kind in cursor.fetchall()
        if column not in given and column != "id"
    }


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    extra = _not_null_defaults(cursor, table, columns)
    names = columns + list(extra)
    tail = list(extra.values())
    total = 0
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join([*map(str, row), *tail]) + "\n")
        total += 1
        if total % COPY_CHUNK == 0:
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", buffer)
            buffer = io.StringIO()
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(names)}) FROM STDIN", buffer)
    return total


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.tablename = %s AND i.indexname NOT IN ("
        "  SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    return cursor.fetchall()


def build(args) -> None:
    """Create, migrate and fill the benchmark database (skipped when it is complete)."""
    if not _exists(args.database):
        _admin(f'CREATE DATABASE "{args.database}"')
    _manage(args.database, "migrate", "--verbosity", "0")
    connection = _connect(_database_url(args.database))
    rng = random.Random(args.seed)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM feedback_feedback")
        have_feedback = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM innovation_idea")
        have_ideas = cursor.fetchone()[0]
        if have_feedback >= args.feedback and have_ideas >= args.ideas:
            print(f"reusing {args.database}: {have_feedback} feedback, {have_ideas} ideas")
            return
        print(f"building {args.database} …", flush=True)
        # Django's foreign keys are deferred; checked at once, so indexes can be rebuilt.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "TRUNCATE innovation_ideavote, innovation_ideaevidence, innovation_ideastatuschange, "
            "innovation_idea, innovation_segmentweight, customization_segment_customers, "
            "customization_segment, feedback_feedback, feedback_customer CASCADE"
        )
        started = time.perf_counter()
        _copy(
            cursor,
            "feedback_customer",
            ["id", "name", "email", "kind", "department", "annual_value", "created_at"],
            (
                (
                    i,
                    f"Customer {i}",
                    f"c{i}@example.com",
                    "internal" if i % 5 == 0 else "external",
                    "Finance" if i % 5 == 0 else "",
                    rng.randint(0, 50_000),
                    "2026-01-01 00:00:00+00",
                )
                for i in range(1, args.customers + 1)
            ),
        )
        _copy(
            cursor,
            "customization_segment",
            ["id", "name", "kind", "status", "created_at", "updated_at"],
            (
                (s, f"Segment {s}", "manual", "active", "2026-01-01 00:00:00+00", "2026-01-01")
                for s in range(1, args.segments + 1)
            ),
        )
        _copy(
            cursor,
            "customization_segment_customers",
            ["segment_id", "customer_id"],
            (
                (s, c)
                for c in range(1, args.customers + 1)
                for s in rng.sample(range(1, args.segments + 1), rng.randint(0, 3))
            ),
        )
        _copy(
            cursor,
            "innovation_segmentweight",
            ["segment_id", "weight"],
            ((s, round(rng.uniform(0.5, 3), 2)) for s in range(1, args.segments + 1, 2)),
        )
        indexes = _secondary_indexes(cursor, "feedback_feedback")
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        _copy(
            cursor,
            "feedback_feedback",
            ["id", "channel", "text", "received_at", "created_at", "customer_id", "status"],
            (
                (
                    i,
                    "form",
                    " ".join(rng.choices(WORDS, k=8)),
                    f"2026-{1 + i % 10:02d}-{1 + i % 28:02d} 12:00:00+00",
                    "2026-11-01 00:00:00+00",
                    rng.randint(1, args.customers) if rng.random() < 0.8 else r"\N",
                    "new",
                )
                for i in range(1, args.feedback + 1)
            ),
        )
        print(f"  feedback loaded in {time.perf_counter() - started:.0f} s; indexing …", flush=True)
        for _, definition in indexes:
            cursor.execute(definition)
        _copy(
            cursor,
            "innovation_idea",
            ["id", "title", "problem", "status", "impact", "confidence", "effort", "value"],
            (
                (
                    i,
                    f"Idea {i}",
                    " ".join(rng.choices(WORDS, k=12)),
                    "new",
                    rng.choice([0.25, 0.5, 1, 2, 3]),
                    rng.choice([0.5, 0.8, 1]),
                    rng.randint(1, 8),
                    rng.randint(1, 10),
                )
                for i in range(1, args.ideas + 1)
            ),
        )
        _copy(
            cursor,
            "innovation_ideaevidence",
            ["idea_id", "feedback_id", "source", "added_at"],
            (
                (i, f, "manual", "2026-11-01 00:00:00+00")
                for i in range(1, args.ideas + 1)
                for f in rng.sample(range(1, args.feedback + 1), args.evidence_per_idea)
            ),
        )
        _copy(
            cursor,
            "innovation_ideavote",
            ["idea_id", "customer_id", "created_at"],
            (
                (i, c, "2026-11-01 00:00:00+00")
                for i in range(1, args.ideas + 1)
                for c in rng.sample(range(1, args.customers + 1), args.votes_per_idea)
            ),
        )
        for table in ("feedback_customer", "feedback_feedback", "innovation_idea"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)


# --- measuring (in a child process) -------------------------------------------------------


def measure(kind: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from innovation import services
    from innovation.models import Idea

    started = time.perf_counter()
    if kind == "refresh_all":
        rows = services.refresh_idea_numbers()
    elif kind == "refresh_10":
        rows = services.refresh_idea_numbers(
            idea_ids=list(Idea.objects.order_by("id").values_list("id", flat=True)[:10])
        )
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM innovation_ideaevidence e "
                "JOIN feedback_feedback f ON f.id = e.feedback_id"
            )
            rows = cursor.fetchone()[0]
    seconds = time.perf_counter() - started
    return {
        "kind": kind,
        "rows": rows,
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(database: str, kind: str) -> dict:
    env = {**os.environ, "DATABASE_URL": _database_url(database), "DEBUG": "1"}
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--measure", kind],
        check=True,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="fl_bench_backlog")
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--ideas", type=int, default=1000)
    parser.add_argument("--evidence-per-idea", type=int, default=200)
    parser.add_argument("--votes-per-idea", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    build(args)
    results = {kind: _child(args.database, kind) for kind in ("scan", "refresh_10", "refresh_all")}
    nightly = results["refresh_all"]
    print(f"\n{'measure':<14}{'rows':>10}{'seconds':>10}{'peak RSS MiB':>14}")
    for kind, result in results.items():
        print(f"{kind:<14}{result['rows']:>10}{result['seconds']:>10}{result['peak_rss_mib']:>14}")
    summary = {
        "feedback": args.feedback,
        "ideas": args.ideas,
        "evidence_links": args.ideas * args.evidence_per_idea,
        "votes": args.ideas * args.votes_per_idea,
        "results": results,
        "refresh_vs_scan": round(nightly["seconds"] / max(results["scan"]["seconds"], 1e-6), 1),
        "meets_targets": nightly["seconds"] < TARGET_SECONDS
        and nightly["peak_rss_mib"] < TARGET_RSS_MIB,
    }
    print(json.dumps(summary))
    if args.drop:
        _admin(f'DROP DATABASE "{args.database}"')


if __name__ == "__main__":
    main()
