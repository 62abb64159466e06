from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts import audit_views
from accounts import views as account_views
from accounts.two_factor import LoginForm, two_factor

# The API comes first: every "" include that does not match a path is searched through in
# full before the next pattern is tried, and API requests are the most frequent.
urlpatterns = [
    path("api/v1/", include(("api.urls", "api"))),
    path("", account_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(form_class=LoginForm), name="login"),
    path("account/two-factor/", two_factor, name="two_factor"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz/", account_views.healthz, name="healthz"),
    path("healthz/workers/", account_views.healthz_workers, name="healthz_workers"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("", include("accounts.urls")),
    path("", include("feedback.urls")),
    path("", include("insights.urls")),
    path("", include("surveys.urls")),
    path("", include("customization.urls")),
    path("", include("innovation.urls")),
    path("admin/", admin.site.urls),
]

# A database outage is a 503 with Retry-After, also when a middleware hit it.
handler500 = "config.outage.handler500"
