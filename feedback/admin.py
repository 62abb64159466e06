from django.contrib import admin

from .models import Customer, Feedback, Product, Tag


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "department", "account", "tier", "annual_value", "consent_contact"]
    list_filter = ["kind", "tier", "consent_contact", "consent_research"]
    search_fields = ["name", "email", "account", "department"]


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
    list_display = [
        "id", "received_at", "channel", "short_text", "product", "customer", "status",
        "sentiment_label", "sentiment_score",
    ]
    list_filter = ["channel", "status", "sentiment_label", "product", "customer__kind", "received_at"]
    search_fields = ["text", "external_id", "source", "customer__name", "submitter_email"]
    date_hierarchy = "received_at"
    list_select_related = ["product", "customer"]
    raw_id_fields = ["customer", "assignee"]
    filter_horizontal = ["tags"]
    readonly_fields = [
        "rating_normalised", "created_at", "sentiment_score", "sentiment_label",
        "sentiment_model", "analysed_at",
    ]
    show_full_result_count = False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]
