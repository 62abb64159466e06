from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from feedback import api as feedback_api
from feedback import review_import_api

urlpatterns = [
    path("feedback/", feedback_api.FeedbackListCreateView.as_view(), name="feedback-list"),
    path("feedback/<int:pk>/", feedback_api.FeedbackDetailView.as_view(), name="feedback-detail"),
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
    path("", include("surveys.api_urls")),
    path("", include("insights.api_urls")),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[]),
        name="docs",
    ),
]
