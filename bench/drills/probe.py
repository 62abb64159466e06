"""Looks inside a drill's database with the app's own code; prints one JSON line.

Run by the drills (``Drill.probe``) with the app's environment (``DATABASE_URL`` …)::

    python bench/drills/probe.py beat-schedule --sweep-seconds 10
    python bench/drills/probe.py backlog --rows 20000 --tag DRILL
    python bench/drills/probe.py rescore --tag DRILL
    python bench/drills/probe.py wake-up
    python bench/drills/probe.py analyse
    python bench/drills/probe.py dashboard
    python bench/drills/probe.py table-counts
    python bench/drills/probe.py record-one --tag DRILL
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from feedback.models import Feedback  # noqa: E402

WORDS = {
    "good": ["great", "fast", "friendly", "helpful", "easy", "love", "excellent", "quick"],
    "bad": ["slow", "broken", "rude", "expensive", "crash", "late", "confusing", "refund"],
    "topic": ["checkout", "delivery", "billing", "support", "search", "dashboard", "login"],
}


def beat_schedule(args) -> dict:
    """Seed the default schedule, re-time the sweep, disable the other entries."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from insights.beat import sync_default_schedule

    sync_default_schedule()
    every, _ = IntervalSchedule.objects.get_or_create(
        every=args.sweep_seconds, period=IntervalSchedule.SECONDS
    )
    sweep = "sweep-unanalysed-feedback"
    PeriodicTask.objects.filter(name=sweep).update(interval=every, crontab=None, enabled=True)
    disabled = PeriodicTask.objects.exclude(name=sweep).update(enabled=False)
    return {"sweep_seconds": args.sweep_seconds, "disabled_entries": disabled}


def backlog(args) -> dict:
    """Insert unanalysed rows directly (no trigger), texts built from a fixed seed."""
    rng = random.Random(args.seed)
    now = timezone.now()
    rows = []
    for n in range(1, args.rows + 1):
        words = [rng.choice(WORDS["topic"]), rng.choice(WORDS["good"]), rng.choice(WORDS["bad"])]
        sentence = f"The {words[0]} was {words[1]} but {words[2]}."
        if n % 3 == 0:
            sentence = f"{words[0].capitalize()} is {words[2]}. Really {words[2]}!"
        elif n % 3 == 1:
            sentence = f"I {words[1]} the {words[0]}, {words[1]} and {words[1]}."
        rows.append(
            Feedback(
                channel=Feedback.Channel.IMPORT,
                source="drill",
                text=f"{args.tag}-{n}- {sentence}",
                received_at=now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 20)),
            )
        )
    Feedback.objects.bulk_create(rows, batch_size=2000)
    return {"inserted": len(rows)}


def rescore(args) -> dict:
    """Score every row of ``tag`` again with the active scorer and compare with what the
    workers stored: the analysis is deterministic, so any difference is a second result."""
    from insights.scoring import active_scorer

    scorer = active_scorer()
    checked = mismatched = unanalysed = 0
    examples = []
    rows = Feedback.objects.filter(text__startswith=f"{args.tag}-").order_by("id")
    batch: list[Feedback] = []

    def compare(batch):
        nonlocal checked, mismatched
        results = scorer.score_mixed([row.text for row in batch])
        for row, result in zip(batch, results, strict=True):
            checked += 1
            same = (
                row.sentiment_label == result.overall.label
                and abs((row.sentiment_score or 0) - result.overall.score) < 1e-9
                and row.sentiment_model == scorer.name
            )
            if not same:
                mismatched += 1
                if len(examples) < 5:
                    examples.append(
                        {
                            "id": row.pk,
                            "stored": [
                                row.sentiment_label,
                                row.sentiment_score,
                                row.sentiment_model,
                            ],
                            "again": [result.overall.label, result.overall.score, scorer.name],
                        }
                    )

    for row in rows.only(
        "id", "text", "sentiment_label", "sentiment_score", "sentiment_model", "analysed_at"
    ).iterator(chunk_size=2000):
        if row.analysed_at is None:
            unanalysed += 1
            continue
        batch.append(row)
        if len(batch) == 2000:
            compare(batch)
            batch = []
    if batch:
        compare(batch)
    return {
        "checked": checked,
        "mismatched": mismatched,
        "unanalysed": unanalysed,
        "scorer": scorer.name,
        "examples": examples,
    }


def wake_up(args) -> dict:
    from insights.triggers import send_wake_up

    return {"delivered": send_wake_up()}


def analyse(args) -> dict:
    from insights import services

    return {"analysed": services.analyse_all_pending()}


def dashboard(args) -> dict:
    """The dashboard's numbers as a manager sees them: its CSV tables through the view,
    the trends page's period comparison, and the pending-analysis count."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from insights import selectors, trends

    user, created = get_user_model().objects.get_or_create(username="drill-manager")
    if created:
        user.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(user)
    tables = {}
    for table in ("kpis", "channels", "customer_kinds", "series"):
        response = client.get("/insights/", {"format": "csv", "table": table})
        tables[table] = {
            "status": response.status_code,
            "csv": b"".join(response.streaming_content).decode(errors="replace")
            if response.streaming
            else response.content.decode(errors="replace"),
        }
    comparison = trends.period_comparison(days=30, today=dt.date.fromisoformat(args.today))
    return {
        "tables": tables,
        "period_comparison": json.loads(json.dumps(comparison, default=str)),
        "pending_analysis": selectors.pending_analysis_count(),
    }


def table_counts(args) -> dict:
    tables = connection.introspection.table_names()
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(tables):
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return {"tables": counts}


def record_one(args) -> dict:
    """Store one row through the service: proves the restored sequences move on."""
    from feedback import services

    row = services.record_feedback(channel=Feedback.Channel.API, text=f"{args.tag} after restore")
    return {"id": row.pk}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("beat-schedule")
    p.add_argument("--sweep-seconds", type=int, required=True)
    p = sub.add_parser("backlog")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("rescore")
    p.add_argument("--tag", required=True)
    sub.add_parser("wake-up")
    sub.add_parser("analyse")
    p = sub.add_parser("dashboard")
    p.add_argument("--today", default=dt.datetime.now(dt.UTC).date().isoformat())
    sub.add_parser("table-counts")
    p = sub.add_parser("record-one")
    p.add_argument("--tag", required=True)
    args = parser.parse_args()
    handler = {
        "beat-schedule": beat_schedule,
        "backlog": backlog,
        "rescore": rescore,
        "wake-up": wake_up,
        "analyse": analyse,
        "dashboard": dashboard,
        "table-counts": table_counts,
        "record-one": record_one,
    }[args.command]
    print(json.dumps(handler(args), default=str))


if __name__ == "__main__":
    main()
