import datetime as dt
import json
import time

from django.core.management.base import BaseCommand, CommandError

from insights import services
from insights.models import AnalysisRun
from insights.runs import tracked_run


class Command(BaseCommand):
    help = (
        "Recount the daily rollups (feedback, survey NPS/CSAT/CES, themes) from raw rows: "
        "all days, or every UTC day from --since. Safe while the app runs: each rollup is "
        "replaced in one transaction. Prints one JSON line with the rows and seconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First UTC day to recount, YYYY-MM-DD.")

    def handle(self, *args, since=None, **options):
        since_day = None
        if since:
            try:
                since_day = dt.date.fromisoformat(since)
            except ValueError:
                raise CommandError("--since must be a date like 2026-01-31") from None
        started = time.perf_counter()
        with tracked_run(AnalysisRun.Kind.ROLLUP) as run:
            counts = services.rebuild_rollups(since=since_day)
            run.add_rows(sum(counts.values()))
            run.note(full_rebuild=since_day is None, **counts)
        counts["seconds"] = round(time.perf_counter() - started, 3)
        self.stdout.write(json.dumps(counts))
