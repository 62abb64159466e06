"""End-to-end analysis throughput: sentiment + themes + writes, on the configured database.

    DATABASE_URL=postgres://…/scratch python manage.py seed_demo --size 200000
    DATABASE_URL=postgres://…/scratch python bench/analysis.py [--rows N]

Discovers themes once (timed), marks the newest ``--rows`` feedback unanalysed, then runs
the worker's own backlog walk (``analyse_all_pending``: claim, score, assign themes, write,
recount the rollups) and prints one JSON line: rows, seconds, rows_per_s, discovery
seconds, themes, links written, peak RSS of this process. Destroys analysis results in
that database: use a scratch one.
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from feedback.models import Feedback  # noqa: E402
from insights import services, theme_services  # noqa: E402
from insights.models import FeedbackTheme, Theme  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    started = time.perf_counter()
    model = theme_services.discover_themes()
    discovery = time.perf_counter() - started
    ids = list(Feedback.objects.order_by("-id").values_list("id", flat=True)[: args.rows])
    Feedback.objects.filter(id__in=ids).update(analysed_at=None)
    FeedbackTheme.objects.filter(feedback_id__in=ids).delete()
    started = time.perf_counter()
    done = services.analyse_all_pending()
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": done,
                "seconds": round(seconds, 1),
                "rows_per_s": round(done / seconds, 1),
                "discovery_seconds": round(discovery, 1),
                "discovery_sample": model.training_size,
                "themes": Theme.objects.count(),
                "links": FeedbackTheme.objects.filter(feedback_id__in=ids).count(),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
