from django.apps import AppConfig
from django.db.models.signals import post_delete


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        from accounts.audit import register_triage_changes
        from api.webhooks import announce_feedback_deleted

        from .models import Feedback

        register_triage_changes()
        post_delete.connect(
            announce_feedback_deleted, sender=Feedback, dispatch_uid="feedback.deleted webhook"
        )
