from django.contrib import admin

from .models import Idea


@admin.register(Idea)
class IdeaAdmin(admin.ModelAdmin):
    list_display = ["title", "product", "status", "created_at"]
    list_filter = ["status", "product"]
    search_fields = ["title", "problem"]
