from django.urls import path

from . import api

urlpatterns = [
    path("ideas/", api.IdeaListCreateView.as_view(), name="idea-list"),
    path("ideas/<int:pk>/", api.IdeaDetailView.as_view(), name="idea-detail"),
    path("ideas/<int:pk>/status/", api.IdeaStatusView.as_view(), name="idea-status"),
    path("ideas/<int:pk>/merge/", api.IdeaMergeView.as_view(), name="idea-merge"),
    path("ideas/<int:pk>/unmerge/", api.IdeaUnmergeView.as_view(), name="idea-unmerge"),
    path("ideas/<int:pk>/evidence/", api.IdeaEvidenceView.as_view(), name="idea-evidence"),
    path(
        "ideas/<int:pk>/evidence/<int:feedback_pk>/",
        api.IdeaEvidenceDetailView.as_view(),
        name="idea-evidence-detail",
    ),
    path("ideas/<int:pk>/similar/", api.IdeaSimilarView.as_view(), name="idea-similar"),
    path("ideas/<int:pk>/votes/", api.IdeaVoteView.as_view(), name="idea-votes"),
    path(
        "ideas/<int:pk>/votes/<int:customer_pk>/",
        api.IdeaVoteDetailView.as_view(),
        name="idea-vote-detail",
    ),
]
