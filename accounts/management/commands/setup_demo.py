import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts import roles
from feedback.models import Feedback

DEMO_USERS = [
    ("manager", roles.MANAGER),
    ("staff", roles.STAFF),
    ("admin", roles.ADMIN),
]


class Command(BaseCommand):
    help = "First run only: create demo logins (printed here) and load the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=None, help="Feedback rows to seed.")

    def handle(self, *args, size, **options):
        logins_file = settings.VAR_DIR / "demo-logins.txt"
        User = get_user_model()
        if not User.objects.exists():
            lines = []
            for username, role in DEMO_USERS:
                password = secrets.token_urlsafe(9)
                user = User.objects.create_user(
                    username=username,
                    password=password,
                    email=f"{username}@example.com",
                    is_staff=role == roles.ADMIN,
                    is_superuser=role == roles.ADMIN,
                )
                user.groups.add(Group.objects.get(name=role))
                lines.append(f"{role:<8} username: {username:<8} password: {password}")
            logins_file.parent.mkdir(parents=True, exist_ok=True)
            logins_file.write_text("\n".join(lines) + "\n")
            logins_file.chmod(0o600)
        if logins_file.exists():
            self.stdout.write("Demo logins (also in var/demo-logins.txt):")
            self.stdout.write(logins_file.read_text())
        if not Feedback.objects.exists():
            self.stdout.write("Loading demo data…")
            seed_args = ["seed_demo"] + (["--size", str(size)] if size else [])
            call_command(*seed_args)
            call_command("seed_demo_surveys")
            # Themes for the demo: the worker discovers them as soon as it starts.
            from insights.theme_services import request_discovery

            try:
                request_discovery()
            except Exception as exc:  # no broker reachable: the nightly run will do it
                self.stdout.write(f"Theme discovery not queued ({exc}); it runs nightly.")
            from customization.demo import seed_demo_customization
            from innovation.demo import seed_demo_innovation

            seed_demo_customization()
            seed_demo_innovation()
