from django.urls import path

from . import review_import_views, views

app_name = "feedback"

urlpatterns = [
    path("feedback/", views.public_feedback, name="public_form"),
    path("feedback/thanks/", views.thanks, name="thanks"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.feedback_detail, name="detail"),
    path("imports/reviews/", review_import_views.review_imports, name="review_imports"),
    path(
        "imports/reviews/<int:pk>/",
        review_import_views.review_import_detail,
        name="review_import_detail",
    ),
    path(
        "imports/reviews/<int:pk>/columns/",
        review_import_views.review_import_map,
        name="review_import_map",
    ),
    path(
        "imports/reviews/<int:pk>/resume/",
        review_import_views.review_import_resume,
        name="review_import_resume",
    ),
    path(
        "imports/reviews/<int:pk>/discard/",
        review_import_views.review_import_discard,
        name="review_import_discard",
    ),
    path(
        "imports/reviews/<int:pk>/skipped-rows.csv",
        review_import_views.review_import_errors_csv,
        name="review_import_errors_csv",
    ),
]
