from django.contrib import admin

from . import alerts
from .models import Alert, AlertRule, AnalysisRun, DailyFeedbackStat, Forecast, ProductOwner


@admin.register(DailyFeedbackStat)
class DailyFeedbackStatAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "channel",
        "product",
        "customer_kind",
        "feedback_count",
        "analysed_count",
    ]
    list_filter = ["channel", "customer_kind", "product"]
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "started_at", "finished_at", "rows"]
    list_filter = ["kind", "status"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Forecast)
class ForecastAdmin(admin.ModelAdmin):
    list_display = ["metric", "scope_key", "method", "generated_at", "horizon"]
    list_filter = ["metric", "scope"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "metric",
        "theme",
        "segment",
        "condition",
        "threshold",
        "window_days",
        "active",
    ]
    list_filter = ["metric", "condition", "active"]
    list_select_related = ["theme", "segment"]
    filter_horizontal = ["notify_users"]
    readonly_fields = ["inactive_reason"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # As on the rules page: a new name or new recipients leave the ongoing alert open.
        watched = {name.removesuffix("_id") for name in alerts.RULE_CONDITION_FIELDS}
        if change and watched & set(form.changed_data):
            alerts.rule_changed(form.instance)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "status", "created_at", "last_seen_at", "times_seen"]
    list_filter = ["kind", "status"]
    readonly_fields = ["fingerprint", "evidence", "created_at", "last_seen_at", "times_seen"]
    raw_id_fields = ["feedback"]


@admin.register(ProductOwner)
class ProductOwnerAdmin(admin.ModelAdmin):
    list_display = ["product", "owner"]
