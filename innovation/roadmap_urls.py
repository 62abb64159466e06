"""Roadmap, changelog, idea suggestions and the public roadmap (joined in innovation/urls.py)."""

from django.urls import path

from . import roadmap_views

urlpatterns = [
    path("roadmap/", roadmap_views.roadmap_page, name="roadmap"),
    path("roadmap/public/", roadmap_views.public_roadmap, name="public_roadmap"),
    path("roadmap/ideas/<int:pk>/", roadmap_views.roadmap_item, name="roadmap_item"),
    path("roadmap/ideas/<int:pk>/move/", roadmap_views.roadmap_move, name="roadmap_move"),
    path("roadmap/ideas/<int:pk>/ship/", roadmap_views.roadmap_ship, name="roadmap_ship"),
    path("roadmap/ideas/<int:pk>/public/", roadmap_views.roadmap_public, name="roadmap_public"),
    path("changelog/", roadmap_views.changelog, name="changelog"),
    path("ideas/suggestions/", roadmap_views.suggestion_list, name="suggestions"),
    path(
        "ideas/suggestions/<int:pk>/accept/",
        roadmap_views.suggestion_accept,
        name="suggestion_accept",
    ),
    path(
        "ideas/suggestions/<int:pk>/dismiss/",
        roadmap_views.suggestion_dismiss,
        name="suggestion_dismiss",
    ),
]
