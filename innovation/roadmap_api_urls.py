"""Roadmap, changelog and idea suggestion endpoints (joined in innovation/api_urls.py)."""

from django.urls import path

from . import roadmap_api

urlpatterns = [
    path("roadmap/", roadmap_api.RoadmapView.as_view(), name="roadmap"),
    path(
        "roadmap/ideas/<int:pk>/move/",
        roadmap_api.RoadmapMoveView.as_view(),
        name="roadmap-move",
    ),
    path("changelog/", roadmap_api.ChangelogView.as_view(), name="changelog"),
    path(
        "idea-suggestions/", roadmap_api.SuggestionListView.as_view(), name="idea-suggestion-list"
    ),
    path(
        "idea-suggestions/<int:pk>/accept/",
        roadmap_api.SuggestionAcceptView.as_view(),
        name="idea-suggestion-accept",
    ),
    path(
        "idea-suggestions/<int:pk>/dismiss/",
        roadmap_api.SuggestionDismissView.as_view(),
        name="idea-suggestion-dismiss",
    ),
]
