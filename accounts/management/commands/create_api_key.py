from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import ApiKey
from accounts.services import create_api_key


class Command(BaseCommand):
    help = "Create an API key for another system and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scopes",
            default="all",
            help="Comma-separated scopes, or 'all' (default). Known: "
            + ", ".join(ApiKey.Scope.values),
        )

    def handle(self, *args, name, scopes, **options):
        if scopes == "all":
            scope_list = list(ApiKey.Scope.values)
        else:
            scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
        try:
            key, raw = create_api_key(name=name, scopes=scope_list)
        except ValidationError as exc:
            raise CommandError(
                "; ".join(m for ms in exc.message_dict.values() for m in ms)
            ) from exc
        self.stderr.write(f"Created API key '{key.name}' with scopes {', '.join(key.scopes)}.")
        self.stderr.write("Store it now: it is not shown again.")
        self.stdout.write(raw)
