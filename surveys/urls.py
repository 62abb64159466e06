from django.urls import include, path  # noqa: F401

app_name = "surveys"

urlpatterns: list = [
    path("", include("surveys.distribution_urls")),
]
