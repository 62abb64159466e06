from django.contrib import admin

from . import services
from .models import (
    Idea,
    IdeaEvidence,
    IdeaStatusChange,
    IdeaSuggestion,
    IdeaVote,
    LoopMessage,
    SegmentWeight,
)


class IdeaStatusChangeInline(admin.TabularInline):
    model = IdeaStatusChange
    extra = 0
    fields = ["changed_at", "from_status", "to_status", "changed_by", "note"]
    readonly_fields = fields
    can_delete = False


class IdeaEvidenceInline(admin.TabularInline):
    model = IdeaEvidence
    fk_name = "idea"
    extra = 0
    raw_id_fields = ["feedback", "added_by", "merged_from"]
    fields = ["feedback", "source", "similarity", "merged_from", "added_by", "added_at"]
    readonly_fields = ["added_at"]


class IdeaVoteInline(admin.TabularInline):
    model = IdeaVote
    fk_name = "idea"
    extra = 0
    raw_id_fields = ["customer", "added_by", "merged_from"]
    readonly_fields = ["created_at"]


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "product",
        "status",
        "lane",
        "customer_count",
        "evidence_count",
        "vote_count",
        "rice_score",
        "merged_into",
        "created_at",
    ]
    list_filter = ["status", "lane", "origin", "product", "public"]
    search_fields = ["title", "problem"]
    list_select_related = ["product", "merged_into"]
    raw_id_fields = ["theme", "owner", "created_by", "merged_into"]
    readonly_fields = [*services.NUMBER_FIELDS, "created_at", "updated_at"]
    inlines = [IdeaStatusChangeInline, IdeaEvidenceInline, IdeaVoteInline]
    actions = ["refresh_numbers"]

    @admin.action(description="Recompute evidence numbers and scores")
    def refresh_numbers(self, request, queryset):
        count = services.refresh_idea_numbers(idea_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} idea(s) refreshed.")


@admin.register(IdeaEvidence)
class IdeaEvidenceAdmin(admin.ModelAdmin):
    list_display = ["idea", "feedback", "source", "similarity", "merged_from", "added_at"]
    list_filter = ["source"]
    raw_id_fields = ["idea", "feedback", "merged_from", "added_by"]
    list_select_related = ["idea", "feedback"]


@admin.register(IdeaVote)
class IdeaVoteAdmin(admin.ModelAdmin):
    list_display = ["idea", "customer", "merged_from", "created_at"]
    raw_id_fields = ["idea", "customer", "merged_from", "added_by"]
    list_select_related = ["idea", "customer"]


@admin.register(SegmentWeight)
class SegmentWeightAdmin(admin.ModelAdmin):
    list_display = ["segment", "weight"]
    list_select_related = ["segment"]


@admin.register(IdeaSuggestion)
class IdeaSuggestionAdmin(admin.ModelAdmin):
    list_display = ["title", "theme", "kind", "status", "created_at"]
    list_filter = ["kind", "status"]
    raw_id_fields = ["theme", "idea", "decided_by"]
    list_select_related = ["theme"]


@admin.register(LoopMessage)
class LoopMessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "email", "idea", "customization_request", "sent_at"]
    search_fields = ["email", "subject"]
    raw_id_fields = ["customer", "idea", "customization_request"]
    list_select_related = ["idea", "customization_request"]
