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
    path(
        "surveys/<int:pk>/questions/",
        api.SurveyQuestionListView.as_view(),
        name="survey-questions",
    ),
    path(
        "surveys/<int:pk>/questions/<int:question_pk>/",
        api.SurveyQuestionDetailView.as_view(),
        name="survey-question-detail",
    ),
    path(
        "surveys/<int:pk>/invitations/",
        api.SurveyInvitationListView.as_view(),
        name="survey-invitations",
    ),
    path(
        "surveys/<int:pk>/invitations/reminders/",
        api.SurveyInvitationRemindersView.as_view(),
        name="survey-invitation-reminders",
    ),
    path(
        "surveys/<int:pk>/invitations/resend-failed/",
        api.SurveyInvitationResendView.as_view(),
        name="survey-invitation-resend",
    ),
    path(
        "surveys/<int:pk>/invitations/<int:invitation_pk>/",
        api.SurveyInvitationDetailView.as_view(),
        name="survey-invitation-detail",
    ),
]
