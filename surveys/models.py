from django.db import models


class Survey(models.Model):
    """A questionnaire; its builder, links, kiosk and results come with the surveys work."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Audience(models.TextChoices):
        EXTERNAL = "external", "External customers"
        INTERNAL = "internal", "Internal customers"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.EXTERNAL)
    product = models.ForeignKey(
        "feedback.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
