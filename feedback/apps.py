from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        from accounts.audit import register_triage_changes

        register_triage_changes()
