from django.db import models


class Segment(models.Model):
    """A named group of customers; rules and suggested segments come with the backlog work."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    customers = models.ManyToManyField("feedback.Customer", blank=True, related_name="segments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
