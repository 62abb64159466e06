"""Review import benchmark: the product's import task against psql's ``\\copy``.

Run from the project root::

    .venv/bin/python bench/review_import.py [--rows 100000] [--db focusloop_bench_import]

What it does, on this machine and PostgreSQL at 127.0.0.1:5432 (user postgres):

1. Writes a deterministic CSV of ``--rows`` reviews to /tmp (Trustpilot-like columns:
   id, author, stars, ISO date, optional title, text; 100,000 rows stay under the 20 MB
   upload limit).
2. Recreates the database ``--db`` and migrates it.
3. ``\\copy`` of the CSV into a plain table (text columns, no index, no constraint), best
   of three: what PostgreSQL ingests here with no application in the way.
4. The storage ceiling, for reference: one ``INSERT … SELECT`` from that plain table into
   ``feedback_feedback`` (rolled back) — the most any importer could reach writing into
   that table with its indexes and constraints, before any validation.
5. The import as the product runs it, each step in its own Python process:
   - "web": ``create_review_import`` (encoding, dialect, count, profile) and
     ``start_review_import`` with the guessed mapping;
   - "worker": ``import_reviews_task.apply()`` until the import is done, with ``DEBUG``
     off as on a production worker; rows/s over the task's wall time, peak RSS from
     ``resource.getrusage`` in that process.
6. Imports the same file again (every row a duplicate) in a new worker process.
7. Prints a table and writes ``bench/results/review-import-<UTC time>.json``. Exits 1 when
   a target fails (import ≥ 1/3 of the ``\\copy`` rate; worker peak RSS < 1 GiB), 2 when
   the benchmark could not run.

It takes the lock ``bench/ingest.py`` takes, so the two never measure each other.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RATIO_TARGET = 1 / 3
RSS_TARGET_BYTES = 1024**3

WORDS = (
    "delivery parcel late fast friendly staff support app crash login checkout price refund "
    "quality great terrible slow helpful rude broken easy confusing update battery screen "
    "order cancelled courier store website payment card coupon loyalty points size colour "
    "return exchange warranty manual noisy comfortable cheap expensive recommend never again"
).split()
TITLES = ("Great", "Disappointed", "Okay", "Love it", "Never again", "Fast delivery", "Meh")
PLAIN_TABLE = "plain_reviews"


class BenchError(RuntimeError):
    """The benchmark could not run (not a failed target)."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def write_csv(path: Path, rows: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["review_id", "author", "stars", "date", "title", "review"])
        for n in range(rows):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30)))
            writer.writerow([
                f"tp-{n:07d}",
                f"Customer {rng.randint(1, 20_000)}",
                rng.randint(1, 5),
                (start + dt.timedelta(minutes=rng.randint(0, 700_000))).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                rng.choice(TITLES) if rng.random() < 0.3 else "",
                text.capitalize() + ".",
            ])
    return path.stat().st_size


def psql(db: str, command: str, host: str, user: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["psql", "-h", host, "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-q", "-c", command],
        check=True, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def run_step(step: str, env: dict, extra: list[str]) -> dict:
    """Run this script in a fresh process for one step; its last output line is JSON."""
    proc = subprocess.run(
        [sys.executable, __file__, "--step", step, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise BenchError(f"step {step} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- Steps run in their own process ----------------------------------------------------------


def _django(import_dir: str):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.REVIEW_IMPORT_DIR = import_dir
    return settings


def _peak_rss_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def step_upload(args) -> dict:
    _django(args.import_dir)
    from django.core.files import File

    from feedback import review_import
    from feedback.review_import.values import guess_mapping

    started = time.perf_counter()
    with open(args.csv, "rb") as handle:
        imp = review_import.create_review_import(upload=File(handle, name="trustpilot.csv"))
    inspected = time.perf_counter() - started
    imp = review_import.start_review_import(
        review_import=imp, source=args.source,
        mapping=guess_mapping(imp.columns, imp.column_profiles),
    )
    return {
        "import_id": imp.pk, "rows_total": imp.rows_total, "encoding": imp.encoding,
        "mapping": imp.mapping, "rating_scale": [str(imp.rating_min), str(imp.rating_max)],
        "inspect_seconds": inspected, "peak_rss_bytes": _peak_rss_bytes(),
    }


def step_worker(args) -> dict:
    settings = _django(args.import_dir)
    settings.DEBUG = False  # a production worker: no per-query logging
    settings.REVIEW_IMPORT_TASK_SECONDS = 3600  # one task for the whole file
    from feedback.models import ReviewImport
    from feedback.tasks import import_reviews_task

    rss_before = _peak_rss_bytes()
    started = time.perf_counter()
    runs = 0
    while True:
        runs += 1
        import_reviews_task.apply(args=(args.import_id,), throw=True)
        imp = ReviewImport.objects.get(pk=args.import_id)
        if imp.is_finished:
            break
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds, "task_runs": runs, "status": imp.status,
        "rows_processed": imp.rows_processed, "rows_imported": imp.rows_imported,
        "rows_duplicate": imp.rows_duplicate, "rows_skipped": imp.rows_skipped,
        "rows_per_second": imp.rows_processed / seconds,
        "peak_rss_before_bytes": rss_before, "peak_rss_bytes": _peak_rss_bytes(),
    }


# --- The run ------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", default="focusloop_bench_import")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--keep", action="store_true", help="keep the CSV and scratch folder")
    parser.add_argument("--step", choices=["upload", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--import-dir", help=argparse.SUPPRESS)
    parser.add_argument("--import-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--source", default="trustpilot", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step:
        result = step_upload(args) if args.step == "upload" else step_worker(args)
        print(json.dumps(result))
        return 0

    lock = open(Path(tempfile.gettempdir()) / "focusloop-bench.lock", "w")
    log("waiting for the benchmark lock (bench/ingest.py takes it too)")
    fcntl.flock(lock, fcntl.LOCK_EX)

    scratch = Path(tempfile.mkdtemp(prefix="focusloop-bench-import-"))
    csv_path = Path(tempfile.gettempdir()) / f"focusloop-reviews-{args.rows}.csv"
    try:
        size = write_csv(csv_path, args.rows)
        log(f"wrote {args.rows:,} rows, {size / 1e6:.1f} MB: {csv_path}")

        host, user, db = args.pg_host, args.pg_user, args.db
        psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', host, user)
        psql("postgres", f'CREATE DATABASE "{db}"', host, user)
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{user}@{host}:5432/{db}",
            "DEBUG": "1",
            "FOCUSLOOP_VAR_DIR": str(scratch / "var"),  # the broker's files stay in scratch
        }
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT, env=env, check=True,
        )
        version = subprocess.run(
            ["psql", "-h", host, "-U", user, "-d", db, "-tAc", "SHOW server_version"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()

        log("\\copy into a plain table, best of 3")
        psql(db, f"CREATE TABLE {PLAIN_TABLE} (review_id text, author text, stars text, "
                 "date text, title text, review text)", host, user)
        copy_times = []
        for _ in range(3):
            psql(db, f"TRUNCATE {PLAIN_TABLE}", host, user)
            copy_times.append(
                psql(db, f"\\copy {PLAIN_TABLE} FROM '{csv_path}' CSV HEADER", host, user)
            )
        copy_seconds = min(copy_times)

        log("storage ceiling: INSERT … SELECT into feedback_feedback (rolled back)")
        ceiling_seconds = psql(
            db,
            "BEGIN; INSERT INTO feedback_feedback (channel, source, external_id, text, rating, "
            "rating_min, rating_max, rating_normalised, received_at, created_at, "
            "submitter_name, submitter_email, consent, consent_text, status, sentiment_label, "
            "sentiment_model, positive_excerpt, negative_excerpt) "
            "SELECT 'review', 'ceiling', review_id, "
            "concat_ws(E'\\n\\n', nullif(title, ''), review), stars::numeric, 1, 5, "
            "(stars::numeric - 1) / 4, date::timestamptz, now(), author, '', false, '', 'new', "
            f"'', '', '', '' FROM {PLAIN_TABLE}; ROLLBACK;",
            host, user,
        )

        step_args = ["--csv", str(csv_path), "--import-dir", str(scratch / "imports")]
        log("web: upload check and mapping")
        upload = run_step("upload", env, step_args)
        log(f"worker: importing {upload['rows_total']:,} rows")
        first = run_step("worker", env, [*step_args, "--import-id", str(upload["import_id"])])
        log("web + worker: the same file again")
        upload2 = run_step("upload", env, step_args)
        again = run_step("worker", env, [*step_args, "--import-id", str(upload2["import_id"])])
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
            csv_path.unlink(missing_ok=True)

    copy_rate = args.rows / copy_seconds
    ceiling_rate = args.rows / ceiling_seconds
    import_rate = first["rows_per_second"]
    ratio = import_rate / copy_rate
    rss = first["peak_rss_bytes"]
    checks = {
        "import_rate_at_least_a_third_of_copy": ratio >= RATIO_TARGET,
        "worker_peak_rss_below_1_GiB": rss < RSS_TARGET_BYTES,
        "every_row_imported": first["rows_imported"] == args.rows,
        "reimport_stores_nothing": again["rows_imported"] == 0
        and again["rows_duplicate"] == args.rows,
    }
    mib = 1024 * 1024
    print()
    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, {args.rows:,} rows, {size / 1e6:.1f} MB")
    print(f"{'':44}{'seconds':>10}{'rows/s':>12}{'vs copy':>9}")
    for label, seconds, rate in [
        ("psql \\copy into a plain table (best of 3)", copy_seconds, copy_rate),
        ("INSERT…SELECT into feedback_feedback", ceiling_seconds, ceiling_rate),
        ("import task (record_feedback_batch per 1,000 rows)", first["seconds"], import_rate),
        ("import task, same file again (duplicates)", again["seconds"], again["rows_per_second"]),
    ]:
        print(f"{label:44}{seconds:>10.2f}{rate:>12,.0f}{rate / copy_rate:>9.3f}")
    print(f"upload check (encoding, dialect, count, profile): {upload['inspect_seconds']:.2f} s, "
          f"web process peak RSS {upload['peak_rss_bytes'] / mib:.0f} MiB")
    print(f"worker peak RSS {rss / mib:.0f} MiB (after Django setup: "
          f"{first['peak_rss_before_bytes'] / mib:.0f} MiB)")
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    result_path = RESULTS / f"review-import-{stamp}.json"
    result_path.write_text(json.dumps({
        "rows": args.rows, "csv_bytes": size, "postgres": version, "cpus": os.cpu_count(),
        "copy_seconds": copy_times, "copy_rows_per_second": copy_rate,
        "ceiling_seconds": ceiling_seconds, "ceiling_rows_per_second": ceiling_rate,
        "upload": upload, "import": first, "reimport": again, "ratio_to_copy": ratio,
        "checks": checks,
    }, indent=2))
    print(f"results: {result_path.relative_to(ROOT)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"benchmark could not run: {exc}", file=sys.stderr)
        sys.exit(2)
