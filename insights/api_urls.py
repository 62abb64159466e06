"""Insights endpoints under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("themes/", api.ThemeListView.as_view(), name="theme-list"),
    path("alerts/", api.AlertListView.as_view(), name="alert-list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        api.AlertActionView.as_view(action="acknowledge"),
        name="alert-acknowledge",
    ),
    path(
        "alerts/<int:pk>/resolve/",
        api.AlertActionView.as_view(action="resolve"),
        name="alert-resolve",
    ),
    path("forecasts/", api.ForecastListView.as_view(), name="forecast-list"),
    path("metrics/", api.KpiView.as_view(), name="metric-kpis"),
    path("metrics/weekly/", api.MetricSeriesView.as_view(), name="metric-series"),
]
