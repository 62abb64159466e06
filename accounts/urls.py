from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("settings/api-keys/", views.api_key_list, name="api_keys"),
    path("settings/api-keys/new/", views.api_key_create, name="api_key_create"),
    path("settings/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("settings/webhooks/", views.webhook_list, name="webhooks"),
    path("settings/webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path(
        "settings/webhooks/<int:pk>/<str:action>/",
        views.webhook_action,
        name="webhook_action",
    ),
]
