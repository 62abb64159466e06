from django.contrib import admin

from .models import DailyFeedbackStat


@admin.register(DailyFeedbackStat)
class DailyFeedbackStatAdmin(admin.ModelAdmin):
    list_display = ["day", "channel", "product", "customer_kind", "feedback_count", "analysed_count"]
    list_filter = ["channel", "customer_kind", "product"]
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
