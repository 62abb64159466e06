"""The site's URLs with the account settings pages, whether or not config.urls has them."""

from django.urls import include, path

from config.urls import urlpatterns as site_patterns

urlpatterns = list(site_patterns)
if not any(getattr(p, "namespace", None) == "accounts" for p in site_patterns):
    urlpatterns.append(path("", include("accounts.urls")))
