import json

from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponse

from . import focus_groups, interviews, privacy
from .models import (
    Customer,
    ErasureRecord,
    Feedback,
    FocusGroup,
    Interview,
    Product,
    ReviewImport,
    ReviewSource,
    Tag,
)
from .review_import import delete_review_import
from .selectors import triage_users
from .services import update_feedback_triage


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "department",
        "account",
        "tier",
        "annual_value",
        "consent_contact",
    ]
    list_filter = ["kind", "tier", "consent_contact", "consent_research"]
    search_fields = ["name", "email", "account", "department"]
    actions = ["export_personal_data", "erase_personal_data"]

    @admin.action(description="Export personal data (JSON) of the selected customers")
    def export_personal_data(self, request, queryset):
        emails = sorted({c.email.lower() for c in queryset if c.email})
        exports = [json.loads(privacy.collect_personal_data(email=e).as_json()) for e in emails]
        response = HttpResponse(json.dumps(exports, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="personal-data.json"'
        return response

    @admin.action(description="Erase personal data of the selected customers")
    def erase_personal_data(self, request, queryset):
        emails = sorted({c.email.lower() for c in queryset if c.email})
        for email in emails:
            privacy.erase_personal_data(
                email=email, via=ErasureRecord.Via.STAFF, requested_by=request.user
            )
        skipped = queryset.filter(email="").count()
        self.message_user(request, f"Erased the personal data of {len(emails)} people.")
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected customers have no email: edit them by hand.",
                level=messages.WARNING,
            )


@admin.register(ErasureRecord)
class ErasureRecordAdmin(admin.ModelAdmin):
    """The erasure log: read only, kept as evidence."""

    list_display = ["erased_at", "via", "requested_by", "email_sha256"]
    list_filter = ["via"]
    search_fields = ["email_sha256"]
    readonly_fields = ["email_sha256", "via", "requested_by", "counts", "erased_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active"]
    list_filter = ["active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    """Feedback arrives through its channels; here staff may only triage it."""

    list_display = [
        "id",
        "received_at",
        "channel",
        "short_text",
        "product",
        "customer",
        "status",
        "sentiment_label",
        "sentiment_score",
    ]
    list_filter = [
        "channel",
        "status",
        "sentiment_label",
        "product",
        "customer__kind",
        "received_at",
    ]
    search_fields = ["text", "external_id", "source", "customer__name", "submitter_email"]
    date_hierarchy = "received_at"
    list_select_related = ["product", "customer"]
    fields = [
        "text",
        "channel",
        "source",
        "external_id",
        "received_at",
        "created_at",
        "customer",
        "product",
        "submitter_name",
        "submitter_email",
        "consent",
        "consent_text",
        "rating",
        "rating_min",
        "rating_max",
        "rating_normalised",
        "tag_names",
        "status",
        "assignee",
        "sentiment_score",
        "sentiment_label",
        "sentiment_model",
        "analysed_at",
    ]
    readonly_fields = [f for f in fields if f not in ("status", "assignee")]
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]

    @admin.display(description="tags")
    def tag_names(self, obj):
        return ", ".join(t.name for t in obj.tags.all()) or "—"

    def has_add_permission(self, request):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assignee":
            kwargs["queryset"] = triage_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        update_feedback_triage(
            feedback=obj, status=form.cleaned_data["status"], assignee=form.cleaned_data["assignee"]
        )


@admin.register(ReviewImport)
class ReviewImportAdmin(admin.ModelAdmin):
    """Imports start on their own pages; here they can be looked at and deleted."""

    list_display = [
        "id",
        "created_at",
        "original_name",
        "source",
        "status",
        "rows_total",
        "rows_imported",
        "rows_duplicate",
        "rows_skipped",
        "uploaded_by",
    ]
    list_filter = ["status", "source", "file_format"]
    search_fields = ["original_name", "source", "uploaded_by__username"]
    list_select_related = ["uploaded_by"]
    readonly_fields = [f.name for f in ReviewImport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        delete_review_import(review_import=obj)

    def delete_queryset(self, request, queryset):
        for review_import in queryset:
            delete_review_import(review_import=review_import)


class _ReadOnlyAdmin(admin.ModelAdmin):
    """Made and changed on their own pages, through their services; looked at here."""

    # The read-only view still builds the form; URLs typed without a scheme are https.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FocusGroup)
class FocusGroupAdmin(_ReadOnlyAdmin):
    list_display = ["topic", "scheduled_at", "product", "moderator", "status"]
    list_filter = ["status", "product"]
    search_fields = ["topic", "agenda", "notes"]
    list_select_related = ["product", "moderator"]

    def delete_model(self, request, obj):
        focus_groups.delete_focus_group(focus_group=obj)

    def delete_queryset(self, request, queryset):
        for focus_group in queryset:
            focus_groups.delete_focus_group(focus_group=focus_group)


@admin.register(Interview)
class InterviewAdmin(_ReadOnlyAdmin):
    list_display = ["customer", "conducted_at", "interviewer", "product"]
    list_filter = ["product"]
    search_fields = ["customer__name", "notes", "transcript"]
    list_select_related = ["customer", "interviewer", "product"]

    def delete_model(self, request, obj):
        interviews.delete_interview(interview=obj)

    def delete_queryset(self, request, queryset):
        for interview in queryset:
            interviews.delete_interview(interview=interview)


@admin.register(ReviewSource)
class ReviewSourceAdmin(_ReadOnlyAdmin):
    list_display = [
        "name",
        "slug",
        "kind",
        "active",
        "last_success_at",
        "consecutive_failures",
        "next_poll_at",
        "items_imported",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["name", "slug", "url"]
