"""The application's URLs, unchanged, plus the baseline endpoint ``/bench/bare/``.

The bare view is a plain function view: no database, no template, no session access.
It passes through the same middleware stack and the same gunicorn as the real
endpoints, so its requests/s are what this machine and this configuration can serve
at best; the ingest endpoints are measured against it.
"""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns


def bare(request):
    return JsonResponse({"ok": True})


# The app's patterns come first, so its URLs resolve exactly as in production.
urlpatterns = [*app_urlpatterns, path("bench/bare/", bare, name="bench-bare")]
