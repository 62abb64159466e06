from django.urls import path

from . import segment_views, views

app_name = "customization"

urlpatterns = [
    path("segments/", segment_views.segment_list, name="segments"),
    path("segments/new/", segment_views.segment_edit, name="segment_create"),
    path("segments/suggest/", segment_views.segments_suggest, name="segments_suggest"),
    path("segments/<int:pk>/", segment_views.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", segment_views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/refresh/", segment_views.segment_refresh, name="segment_refresh"),
    path("segments/<int:pk>/accept/", segment_views.segment_accept, name="segment_accept"),
    path("segments/<int:pk>/rename/", segment_views.segment_rename, name="segment_rename"),
    path("segments/<int:pk>/discard/", segment_views.segment_discard, name="segment_discard"),
    path("customizations/", views.request_list, name="requests"),
    path("customizations/new/", views.request_edit, name="request_create"),
    path("customizations/promote/", views.requests_promote, name="requests_promote"),
    path("customizations/<int:pk>/", views.request_detail, name="request_detail"),
    path("customizations/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("customizations/<int:pk>/status/", views.request_status, name="request_status"),
    path(
        "customizations/<int:pk>/evidence/",
        views.request_evidence_add,
        name="request_evidence_add",
    ),
    path(
        "customizations/<int:pk>/evidence/<int:feedback_pk>/remove/",
        views.request_evidence_remove,
        name="request_evidence_remove",
    ),
    path(
        "customizations/from-feedback/<int:feedback_pk>/",
        views.request_from_feedback,
        name="request_from_feedback",
    ),
    path(
        "customizations/from-theme/<int:theme_pk>/",
        views.request_from_theme,
        name="request_from_theme",
    ),
    path(
        "customers/<int:customer_pk>/preferences/",
        views.preference_add,
        name="preference_add",
    ),
    path("preferences/<int:pk>/edit/", views.preference_edit, name="preference_edit"),
    path("preferences/<int:pk>/delete/", views.preference_delete, name="preference_delete"),
]
