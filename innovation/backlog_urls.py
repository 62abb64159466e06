from django.urls import path

from . import views

urlpatterns = [
    path("ideas/", views.idea_list, name="ideas"),
    path("ideas/new/", views.idea_create, name="idea_create"),
    path("ideas/segment-weights/", views.segment_weights, name="segment_weights"),
    path("ideas/<int:pk>/", views.idea_detail, name="idea_detail"),
    path("ideas/<int:pk>/edit/", views.idea_edit, name="idea_edit"),
    path("ideas/<int:pk>/scores/", views.idea_scores, name="idea_scores"),
    path("ideas/<int:pk>/status/", views.idea_status, name="idea_status"),
    path("ideas/<int:pk>/evidence/", views.idea_evidence_add, name="idea_evidence_add"),
    path("ideas/<int:pk>/evidence/find/", views.idea_find_evidence, name="idea_find_evidence"),
    path(
        "ideas/<int:pk>/evidence/<int:feedback_pk>/remove/",
        views.idea_evidence_remove,
        name="idea_evidence_remove",
    ),
    path("ideas/<int:pk>/votes/", views.idea_vote_add, name="idea_vote_add"),
    path(
        "ideas/<int:pk>/votes/<int:customer_pk>/remove/",
        views.idea_vote_remove,
        name="idea_vote_remove",
    ),
    path("ideas/<int:pk>/merge/", views.idea_merge, name="idea_merge"),
    path("ideas/<int:pk>/unmerge/", views.idea_unmerge, name="idea_unmerge"),
    path(
        "ideas/from-feedback/<int:feedback_pk>/",
        views.feedback_add_to_idea,
        name="feedback_add_to_idea",
    ),
]
