from django.core.management.base import BaseCommand, CommandError

from surveys.demo import load_demo_surveys


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
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {summary.surveys} surveys with {summary.responses:,} responses."
            )
        )
