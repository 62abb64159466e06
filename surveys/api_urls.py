"""Survey endpoints under /api/v1/."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("surveys/", api.SurveyListView.as_view(), name="survey-list"),
    path("surveys/<int:pk>/", api.SurveyDetailView.as_view(), name="survey-detail"),
    path("surveys/<int:pk>/results/", api.SurveyResultsView.as_view(), name="survey-results"),
    path(
        "surveys/<int:pk>/responses/",
        api.SurveyResponsesView.as_view(),
        name="survey-responses",
    ),
]
