from django.urls import path

from . import (
    customer_views,
    focus_group_views,
    inbox_views,
    interview_views,
    privacy_views,
    review_import_views,
    review_source_views,
    views,
)

app_name = "feedback"

urlpatterns = [
    path("feedback/", views.public_feedback, name="public_form"),
    path("feedback/thanks/", views.thanks, name="thanks"),
    path("privacy/", privacy_views.privacy_start, name="privacy_start"),
    path("privacy/<str:token>/", privacy_views.privacy_request, name="privacy_request"),
    path(
        "privacy/<str:token>/export.<str:fmt>",
        privacy_views.privacy_export,
        name="privacy_export",
    ),
    path("privacy/<str:token>/erase/", privacy_views.privacy_erase, name="privacy_erase"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/bulk/", inbox_views.inbox_bulk, name="inbox_bulk"),
    path("inbox/views/", inbox_views.saved_view_create, name="saved_view_create"),
    path("inbox/views/<int:pk>/edit/", inbox_views.saved_view_edit, name="saved_view_edit"),
    path("inbox/views/<int:pk>/delete/", inbox_views.saved_view_delete, name="saved_view_delete"),
    path("inbox/<int:pk>/", inbox_views.feedback_detail, name="detail"),
    path("inbox/<int:pk>/notes/", inbox_views.feedback_note_add, name="note_add"),
    path(
        "inbox/<int:pk>/notes/<int:note_pk>/edit/",
        inbox_views.feedback_note_edit,
        name="note_edit",
    ),
    path(
        "inbox/<int:pk>/notes/<int:note_pk>/delete/",
        inbox_views.feedback_note_delete,
        name="note_delete",
    ),
    path("customers/", customer_views.customers, name="customers"),
    path("customers/<int:pk>/", customer_views.customer_detail, name="customer_detail"),
    path("focus-groups/", focus_group_views.focus_groups, name="focus_groups"),
    path("focus-groups/new/", focus_group_views.focus_group_create, name="focus_group_create"),
    path("focus-groups/<int:pk>/", focus_group_views.focus_group_detail, name="focus_group_detail"),
    path(
        "focus-groups/<int:pk>/edit/", focus_group_views.focus_group_edit, name="focus_group_edit"
    ),
    path(
        "focus-groups/<int:pk>/entries/",
        focus_group_views.focus_group_entry_add,
        name="focus_group_entry_add",
    ),
    path(
        "focus-groups/<int:pk>/entries/<int:entry_pk>/delete/",
        focus_group_views.focus_group_entry_delete,
        name="focus_group_entry_delete",
    ),
    path("interviews/", interview_views.interviews, name="interviews"),
    path("interviews/new/", interview_views.interview_create, name="interview_create"),
    path("interviews/<int:pk>/", interview_views.interview_detail, name="interview_detail"),
    path("interviews/<int:pk>/edit/", interview_views.interview_edit, name="interview_edit"),
    path(
        "interviews/<int:pk>/highlights/",
        interview_views.interview_highlight_add,
        name="interview_highlight_add",
    ),
    path(
        "interviews/<int:pk>/highlights/<int:highlight_pk>/delete/",
        interview_views.interview_highlight_delete,
        name="interview_highlight_delete",
    ),
    path("sources/", review_source_views.review_sources, name="review_sources"),
    path("sources/new/", review_source_views.review_source_create, name="review_source_create"),
    path(
        "sources/<int:pk>/edit/", review_source_views.review_source_edit, name="review_source_edit"
    ),
    path(
        "sources/<int:pk>/poll/", review_source_views.review_source_poll, name="review_source_poll"
    ),
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
