from django.core.management.base import BaseCommand, CommandError

from feedback.demo_data.loading import DEFAULT_SEED, DEFAULT_SIZE, load_demo_organisation


class Command(BaseCommand):
    help = (
        "Write a demo organisation: customers, five products and a year of analysed feedback "
        "over every channel. Appends unless --flush is given."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--size", type=int, default=DEFAULT_SIZE, help="Feedback rows to write."
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Same seed and size, same content."
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="Delete the earlier demo feedback, customers and products first.",
        )

    def handle(self, *args, size, seed, flush, verbosity, **options):
        if size < 1:
            raise CommandError("--size must be at least 1.")

        def report_progress(written: int) -> None:
            self.stdout.write(f"  {written:,} / {size:,} feedback rows written")

        summary = load_demo_organisation(
            size=size,
            seed=seed,
            flush=flush,
            progress=report_progress if verbosity > 1 else None,
        )
        flushed = f", {summary.flushed_feedback:,} earlier rows flushed" if flush else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {summary.feedback:,} feedback ({summary.tagged_feedback:,} tagged), "
                f"{summary.customers:,} customers ({summary.internal_customers:,} internal), "
                f"{summary.products} products{flushed} in {summary.seconds:.1f} s (seed {seed})."
            )
        )
