from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/models/", views.sentiment_models, name="sentiment_models"),
    path(
        "insights/models/<int:version>/activate/",
        views.activate_sentiment_model,
        name="activate_sentiment_model",
    ),
    path(
        "insights/feedback/<int:pk>/sentiment/",
        views.correct_sentiment,
        name="correct_sentiment",
    ),
]
