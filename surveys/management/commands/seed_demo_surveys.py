import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Min

from insights.services import rebuild_rollups
from surveys.demo import DEMO_SLUGS, load_demo_surveys
from surveys.models import Response


class Command(BaseCommand):
    help = "Create two demo surveys answered by the demo customers (once; needs seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--responses", type=int, default=400)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, responses, seed, **options):
        if responses < 0:
            raise CommandError("--responses must not be negative.")
        summary = load_demo_surveys(seed=seed, responses=responses)
        if not summary.surveys:
            self.stdout.write("The demo surveys exist already; nothing written.")
            return
        # The responses are back-dated: count their scores in the rollups now, not when a
        # later recount happens to reach their days.
        first = Response.objects.filter(survey__slug__in=DEMO_SLUGS).aggregate(Min("submitted_at"))
        if first["submitted_at__min"] is not None:
            rebuild_rollups(since=first["submitted_at__min"].astimezone(dt.UTC).date())
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {summary.surveys} surveys with {summary.responses:,} responses."
            )
        )
