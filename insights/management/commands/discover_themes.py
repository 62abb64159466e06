from django.core.management.base import BaseCommand, CommandError

from insights import theme_services


class Command(BaseCommand):
    help = (
        "Discover themes in the newest analysed feedback now (what the scheduled task does). "
        "Curated themes keep their names; new clusters become proposed themes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--k", type=int, help="Number of themes (default: chosen automatically)."
        )
        parser.add_argument(
            "--sample",
            type=int,
            default=theme_services.DISCOVERY_SAMPLE,
            help="At most this many of the newest analysed feedback (default %(default)s).",
        )
        parser.add_argument("--random-state", type=int, default=0)

    def handle(self, *args, k, sample, random_state, **options):
        if sample < 1:
            raise CommandError("--sample must be positive.")
        try:
            model = theme_services.discover_themes(
                k=k, sample_size=sample, random_state=random_state
            )
        except (theme_services.ThemeDiscoveryError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        metrics = model.metrics
        self.stdout.write(
            f"Theme model v{model.version}: {model.n_themes} themes over {model.training_size} "
            f"feedback ({metrics.get('matched', 0)} matched existing themes, "
            f"{metrics.get('new', 0)} new) in {metrics.get('seconds')} s."
        )
