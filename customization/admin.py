from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import segment_services
from .models import (
    CustomerPreference,
    CustomizationEvidence,
    CustomizationRequest,
    CustomizationStatusChange,
    Segment,
)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "member_count", "membership_refreshed_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "description"]
    raw_id_fields = ["customers", "created_by"]
    readonly_fields = ["member_count", "membership_refreshed_at", "created_at", "updated_at"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Members curated here: the count, the open requests' value at stake and the
        # dashboard's segment figures follow (a rule segment is matched from its rules).
        try:
            segment_services.refresh_segment_membership(segment=form.instance)
        except ValidationError as exc:
            self.message_user(
                request, f"Members not refreshed: {' '.join(exc.messages)}", messages.WARNING
            )


@admin.register(CustomerPreference)
class CustomerPreferenceAdmin(admin.ModelAdmin):
    list_display = ["customer", "key", "value", "source", "stated_on"]
    list_filter = ["source"]
    search_fields = ["key", "value", "customer__name"]
    raw_id_fields = ["customer", "recorded_by"]
    list_select_related = ["customer"]


class EvidenceInline(admin.TabularInline):
    model = CustomizationEvidence
    raw_id_fields = ["feedback", "added_by"]
    extra = 0


class StatusChangeInline(admin.TabularInline):
    model = CustomizationStatusChange
    fields = ["from_status", "to_status", "changed_by", "changed_at", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        # History is written by the workflow only.
        return False


@admin.register(CustomizationRequest)
class CustomizationRequestAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "customer", "segment", "product", "owner", "value_at_stake"]
    list_filter = ["status", "product"]
    search_fields = ["title", "description"]
    raw_id_fields = ["customer", "segment", "theme", "requested_by", "owner", "promoted_to"]
    list_select_related = ["customer", "segment", "product", "owner"]
    # Status and value are kept by the services (workflow history, segment refresh).
    readonly_fields = ["status", "value_at_stake", "delivered_at", "created_at", "updated_at"]
    inlines = [EvidenceInline, StatusChangeInline]


@admin.register(CustomizationStatusChange)
class CustomizationStatusChangeAdmin(admin.ModelAdmin):
    list_display = ["request", "from_status", "to_status", "changed_by", "changed_at"]
    list_filter = ["to_status"]
    list_select_related = ["request", "changed_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
