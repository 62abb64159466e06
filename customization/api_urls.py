"""Customization endpoints under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("segments/", api.SegmentListCreateView.as_view(), name="segment-list"),
    path("segments/<int:pk>/", api.SegmentDetailView.as_view(), name="segment-detail"),
    path("segments/<int:pk>/members/", api.SegmentMembersView.as_view(), name="segment-members"),
    path("segments/<int:pk>/accept/", api.SegmentAcceptView.as_view(), name="segment-accept"),
    path("segments/<int:pk>/discard/", api.SegmentDiscardView.as_view(), name="segment-discard"),
    path("segments/<int:pk>/refresh/", api.SegmentRefreshView.as_view(), name="segment-refresh"),
    path(
        "customization-requests/",
        api.RequestListCreateView.as_view(),
        name="customization-request-list",
    ),
    path(
        "customization-requests/<int:pk>/",
        api.RequestDetailView.as_view(),
        name="customization-request-detail",
    ),
    path(
        "customization-requests/<int:pk>/status/",
        api.RequestStatusView.as_view(),
        name="customization-request-status",
    ),
    path(
        "customization-requests/<int:pk>/evidence/",
        api.RequestEvidenceView.as_view(),
        name="customization-request-evidence",
    ),
    path(
        "customers/<int:customer_pk>/preferences/",
        api.PreferenceListCreateView.as_view(),
        name="customer-preference-list",
    ),
    path(
        "customers/<int:customer_pk>/preferences/<int:pk>/",
        api.PreferenceDetailView.as_view(),
        name="customer-preference-detail",
    ),
]
