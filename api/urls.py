from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from feedback import api as feedback_api

urlpatterns = [
    path("feedback/", feedback_api.FeedbackListCreateView.as_view(), name="feedback-list"),
    path("feedback/<int:pk>/", feedback_api.FeedbackDetailView.as_view(), name="feedback-detail"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[]),
        name="docs",
    ),
]
