from django.urls import path

from . import views

app_name = "feedback"

urlpatterns = [
    path("feedback/", views.public_feedback, name="public_form"),
    path("feedback/thanks/", views.thanks, name="thanks"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.feedback_detail, name="detail"),
]
