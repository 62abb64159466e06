from django.urls import path

from . import monitoring_views, theme_views, views

app_name = "insights"

urlpatterns = [
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/rankings/", views.rankings, name="rankings"),
    path("insights/models/", views.sentiment_models, name="sentiment_models"),
    path(
        "insights/models/<int:version>/activate/",
        views.activate_sentiment_model,
        name="activate_sentiment_model",
    ),
    path(
        "insights/models/retrain/",
        views.retrain_sentiment_model,
        name="retrain_sentiment_model",
    ),
    path(
        "insights/feedback/<int:pk>/sentiment/",
        views.correct_sentiment,
        name="correct_sentiment",
    ),
    path("insights/themes/", theme_views.themes, name="themes"),
    path("insights/themes/discover/", theme_views.themes_discover, name="themes_discover"),
    path("insights/themes/<int:pk>/", theme_views.theme_detail, name="theme_detail"),
    path("insights/themes/<int:pk>/rename/", theme_views.theme_rename, name="theme_rename"),
    path("insights/themes/<int:pk>/merge/", theme_views.theme_merge, name="theme_merge"),
    path("insights/themes/<int:pk>/split/", theme_views.theme_split, name="theme_split"),
    path("insights/themes/<int:pk>/status/", theme_views.theme_status, name="theme_status"),
    path("insights/themes/<int:pk>/pin/", theme_views.theme_pin, name="theme_pin"),
    path(
        "insights/feedback/<int:pk>/themes/",
        theme_views.feedback_theme_add,
        name="feedback_theme_add",
    ),
    path(
        "insights/feedback/<int:pk>/themes/<int:theme_pk>/remove/",
        theme_views.feedback_theme_remove,
        name="feedback_theme_remove",
    ),
    path("insights/themes/<int:pk>/rules/", theme_views.theme_rule_add, name="theme_rule_add"),
    path(
        "insights/themes/<int:pk>/rules/<int:rule_pk>/delete/",
        theme_views.theme_rule_delete,
        name="theme_rule_delete",
    ),
    # Monitoring: alerts, rules and follow-up owners, analysis runs, forecasts.
    path("insights/alerts/", monitoring_views.alert_list, name="alerts"),
    path("insights/alerts/count.json", monitoring_views.alert_count, name="alert_count"),
    path(
        "insights/alerts/<int:pk>/acknowledge/",
        monitoring_views.alert_acknowledge,
        name="alert_acknowledge",
    ),
    path("insights/alerts/<int:pk>/resolve/", monitoring_views.alert_resolve, name="alert_resolve"),
    path("insights/alerts/rules/", monitoring_views.rule_list, name="alert_rules"),
    path("insights/alerts/rules/new/", monitoring_views.rule_edit, name="alert_rule_new"),
    path("insights/alerts/rules/<int:pk>/", monitoring_views.rule_edit, name="alert_rule_edit"),
    path("insights/alerts/owners/", monitoring_views.product_owner_set, name="product_owner_set"),
    path("insights/runs/", monitoring_views.run_list, name="runs"),
    path("insights/runs/start/", monitoring_views.run_now, name="run_now"),
    path("insights/runs/status.json", monitoring_views.run_status, name="run_status"),
    path("insights/forecasts/", monitoring_views.forecast_list, name="forecasts"),
    path("insights/trends/", monitoring_views.trends, name="trends"),
]
