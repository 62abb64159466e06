from django.db import models


class Idea(models.Model):
    """An opportunity born from a pain point; evidence and roadmap come with the backlog work."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        UNDER_REVIEW = "under_review", "Under review"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        SHIPPED = "shipped", "Shipped"
        DECLINED = "declined", "Declined"

    title = models.CharField(max_length=200)
    problem = models.TextField("problem statement")
    proposed_solution = models.TextField(blank=True)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="ideas"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
