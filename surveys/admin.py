from django.contrib import admin

from .models import Survey


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "status", "audience", "product", "created_at"]
    list_filter = ["status", "audience", "product"]
    search_fields = ["title", "slug"]
