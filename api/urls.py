from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import webhooks_api
from api.docs import RedocView
from feedback import api as feedback_api
from feedback import channels_api, review_import_api

urlpatterns = [
    path("feedback/", feedback_api.FeedbackListCreateView.as_view(), name="feedback-list"),
    path("feedback/<int:pk>/", feedback_api.FeedbackDetailView.as_view(), name="feedback-detail"),
    path("feedback/bulk/", feedback_api.FeedbackBulkCreateView.as_view(), name="feedback-bulk"),
    path("customers/", feedback_api.CustomerListView.as_view(), name="customer-list"),
    path("products/", feedback_api.ProductListView.as_view(), name="product-list"),
    path(
        "review-imports/",
        review_import_api.ReviewImportListCreateView.as_view(),
        name="review-import-list",
    ),
    path(
        "review-imports/<int:pk>/",
        review_import_api.ReviewImportDetailView.as_view(),
        name="review-import-detail",
    ),
    path(
        "review-imports/<int:pk>/errors/",
        review_import_api.ReviewImportErrorListView.as_view(),
        name="review-import-errors",
    ),
    path("focus-groups/", channels_api.FocusGroupListCreateView.as_view(), name="focus-group-list"),
    path(
        "focus-groups/<int:pk>/",
        channels_api.FocusGroupDetailView.as_view(),
        name="focus-group-detail",
    ),
    path(
        "focus-groups/<int:pk>/entries/",
        channels_api.FocusGroupEntryListCreateView.as_view(),
        name="focus-group-entries",
    ),
    path("interviews/", channels_api.InterviewListCreateView.as_view(), name="interview-list"),
    path(
        "interviews/<int:pk>/", channels_api.InterviewDetailView.as_view(), name="interview-detail"
    ),
    path(
        "interviews/<int:pk>/highlights/",
        channels_api.HighlightListCreateView.as_view(),
        name="interview-highlights",
    ),
    path("review-sources/", channels_api.ReviewSourceListView.as_view(), name="review-source-list"),
    path(
        "review-sources/<int:pk>/",
        channels_api.ReviewSourceDetailView.as_view(),
        name="review-source-detail",
    ),
    path("webhooks/", webhooks_api.WebhookEndpointListView.as_view(), name="webhook-list"),
    path(
        "webhooks/<int:pk>/",
        webhooks_api.WebhookEndpointDetailView.as_view(),
        name="webhook-detail",
    ),
    path(
        "webhooks/<int:pk>/test/",
        webhooks_api.WebhookTestEventView.as_view(),
        name="webhook-test",
    ),
    path(
        "webhooks/<int:pk>/deliveries/",
        webhooks_api.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        webhooks_api.WebhookRedeliverView.as_view(),
        name="webhook-redeliver",
    ),
    path("", include("surveys.api_urls")),
    path("", include("insights.api_urls")),
    path("", include("customization.api_urls")),
    path("", include("innovation.api_urls")),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[]),
        name="docs",
    ),
    path("redoc/", RedocView.as_view(), name="redoc"),
]
