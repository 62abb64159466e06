from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, using, **kwargs):
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from .services import sync_role_groups

    # Permissions of apps migrated after this one may not exist yet: create them first.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_role_groups()


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import schema  # noqa: F401  (registers the API key scheme with the OpenAPI generator)
        from .audit import connect_context_receiver

        connect_context_receiver()

        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")
