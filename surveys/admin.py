"""Admin: read-mostly. Surveys and questions are built on the builder pages, which go
through ``services`` (logic validation, question versioning); the admin shows everything,
edits survey settings through the same service and opens/closes surveys with actions."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import services
from .models import Answer, IdempotencyRecord, Invitation, Question, Response, Survey


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class QuestionInline(ReadOnlyInline):
    model = Question
    fields = [
        "position",
        "key",
        "kind",
        "text",
        "required",
        "choices",
        "show_if",
        "end_if",
        "archived_at",
    ]
    readonly_fields = fields
    ordering = ["position", "id"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "status",
        "audience",
        "product",
        "response_quota",
        "created_at",
    ]
    list_filter = ["status", "audience", "product"]
    search_fields = ["title", "slug"]
    date_hierarchy = "created_at"
    fields = [
        "title",
        "slug",
        "description",
        "thank_you_message",
        "status",
        "audience",
        "product",
        "opens_at",
        "closes_at",
        "response_quota",
        "created_by",
        "opened_at",
        "closed_at",
    ]
    readonly_fields = ["slug", "status", "created_by", "opened_at", "closed_at"]
    inlines = [QuestionInline]
    actions = ["open_surveys", "close_surveys"]

    def save_model(self, request, obj, form, change):
        settings = {
            name: form.cleaned_data[name]
            for name in services.SURVEY_SETTINGS
            if name in form.cleaned_data
        }
        try:
            if change:
                services.update_survey(survey=obj, **settings)
            else:
                created = services.create_survey(created_by=request.user, **settings)
                obj.pk, obj.slug = created.pk, created.slug
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))

    def _transition(self, request, queryset, service, verb):
        done = 0
        for survey in queryset:
            try:
                service(survey=survey)
                done += 1
            except ValidationError as exc:
                messages.error(request, f"{survey}: {'; '.join(exc.messages)}")
        if done:
            messages.success(request, f"{done} survey(s) {verb}.")

    @admin.action(description="Open (or reopen) the selected surveys", permissions=["change"])
    def open_surveys(self, request, queryset):
        self._transition(request, queryset, services.open_survey, "opened")

    @admin.action(description="Close the selected surveys", permissions=["change"])
    def close_surveys(self, request, queryset):
        self._transition(request, queryset, services.close_survey, "closed")


class AnswerInline(ReadOnlyInline):
    model = Answer
    fields = ["question", "number", "choices", "text", "feedback"]
    readonly_fields = fields


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["id", "survey", "channel", "customer", "collected_by", "submitted_at"]
    list_filter = ["channel", "survey"]
    search_fields = ["survey__title", "customer__name", "customer__email", "client_uuid"]
    date_hierarchy = "submitted_at"
    list_select_related = ["survey", "customer", "collected_by"]
    inlines = [AnswerInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "survey",
        "customer",
        "status",
        "sent_at",
        "opened_at",
        "answered_at",
        "reminders_sent",
    ]
    list_filter = ["status", "survey"]
    search_fields = ["email", "customer__name", "survey__title"]
    list_select_related = ["survey", "customer"]
    exclude = ["token_digest", "previous_token_digest"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["scope", "key", "status_code", "created_at"]
    search_fields = ["key", "scope"]
    readonly_fields = [
        "scope",
        "key",
        "request_sha256",
        "status_code",
        "response_body",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
