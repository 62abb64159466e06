from django.urls import include, path

from . import respond_views, views

app_name = "surveys"

urlpatterns: list = [
    path("surveys/", views.survey_index, name="list"),
    path("surveys/new/", views.survey_new, name="new"),
    path("surveys/<int:pk>/", views.survey_detail, name="detail"),
    path("surveys/<int:pk>/open/", views.survey_transition, {"action": "open"}, name="open"),
    path("surveys/<int:pk>/close/", views.survey_transition, {"action": "close"}, name="close"),
    path("surveys/<int:pk>/preview/", respond_views.preview, name="preview"),
    path("surveys/<int:pk>/results/", views.survey_results, name="results"),
    path("surveys/<int:pk>/export.csv", views.export_csv, name="export_csv"),
    path("surveys/<int:pk>/export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("surveys/<int:pk>/questions/new/", views.question_new, name="question_new"),
    path(
        "surveys/<int:pk>/questions/reorder/",
        views.question_reorder,
        name="question_reorder",
    ),
    path(
        "surveys/<int:pk>/questions/<int:question_pk>/",
        views.question_edit,
        name="question_edit",
    ),
    *[
        path(
            f"surveys/<int:pk>/questions/<int:question_pk>/{action}/",
            views.question_action,
            {"action": action},
            name=f"question_{action}",
        )
        for action in ("delete", "duplicate", "up", "down")
    ],
    path("s/<slug:slug>/", respond_views.respond, name="respond"),
    path("s/<slug:slug>/embed/", respond_views.embed, name="embed"),
    path("s/<slug:slug>/thanks/", respond_views.thanks, name="thanks"),
    path("", include("surveys.distribution_urls")),
]
