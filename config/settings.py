"""FocusLoop settings: one module, every deployment value read from the environment.

With nothing set FocusLoop runs in its embedded mode: SQLite under ``var/``, a Celery
broker on the local filesystem and a local-memory cache, so a fresh machine with only
Python can run it. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
Every variable is listed in ``.env.example``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FOCUSLOOP_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
# Embedded mode: no external service configured. It is meant for one machine and a
# single web process (``make run``); production sets DATABASE_URL and REDIS_URL.
EMBEDDED = DATABASE_URL is None

DEBUG = env_bool("DEBUG", default=EMBEDDED)

SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not (EMBEDDED or DEBUG):
        raise ImproperlyConfigured("SECRET_KEY must be set outside the embedded local mode")
    SECRET_KEY = "focusloop-local-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "feedback",
    "surveys",
    "insights",
    "customization",
    "innovation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.outage.DatabaseUnavailableMiddleware",
    "config.csp.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lockout into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600)
if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "focusloop.sqlite3")),
            "OPTIONS": {
                # Web, worker and beat write the same file: WAL lets readers run beside a
                # writer, IMMEDIATE takes the write lock at BEGIN (no upgrade deadlocks) and
                # the timeout makes a second writer wait instead of failing.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
else:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, with a health check that polls the socket before it asks the
        # server (config/db/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.db.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The survey respondent path runs its few fixed statements as server-side prepared
# statements on PostgreSQL (feedback.inserts.execute_prepared). Switch off behind a
# transaction-mode pooler (PgBouncer pool_mode=transaction), which does not keep them.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)

# --- Cache, broker ---------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                # A cache outage must not fail a request: reads miss, writes are dropped.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_FOLDER = VAR_DIR / "celery" / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_FOLDER.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task unacknowledged this long is handed to another worker. It must exceed the
        # longest task (hard limit below) or a slow task would run twice.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        # Publishing from a web request must not hang on a dead broker: fail fast, the
        # periodic sweep analyses what the trigger missed.
        "max_retries": 0,
        "socket_connect_timeout": 0.5,
        "socket_timeout": 2,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Model training is slow and memory-hungry: its own queue, so analysis never waits behind it.
# Model fitting runs on its own queue, so a long training never delays analysis.
# Four queues, so each kind of work can get workers of its own: "analysis" (scoring what
# customers just sent: keep it short), "training" (model training and theme discovery:
# long, CPU-heavy), "mail" (invitations, reminders, close-the-loop, the digest: waits on
# the mail server) and "default" (everything else). One worker may consume them all.
FOCUSLOOP_QUEUES = ["default", "analysis", "training", "mail"]
CELERY_TASK_ROUTES = {
    "insights.tasks.analyse_pending_feedback_task": {"queue": "analysis"},
    "insights.tasks.sweep_unanalysed_feedback_task": {"queue": "analysis"},
    "insights.tasks.rescore_outdated_feedback_task": {"queue": "analysis"},
    "insights.tasks.train_sentiment_model_task": {"queue": "training"},
    "insights.tasks.discover_themes_task": {"queue": "training"},
    "surveys.tasks.send_invitations_task": {"queue": "mail"},
    "surveys.tasks.send_reminders_task": {"queue": "mail"},
    "innovation.tasks.close_the_loop_task": {"queue": "mail"},
    "innovation.tasks.close_recent_loops_task": {"queue": "mail"},
    "insights.tasks.send_weekly_digest_task": {"queue": "mail"},
}
# /healthz/workers/ calls a queue stale when its last heartbeat is older than this.
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 180)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# --- Auth ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES (HTTP 429).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Two-factor login codes name the site in the authenticator app.
OTP_TOTP_ISSUER = "FocusLoop"
# Authenticator secrets are never shown in the admin (its QR and config views answer 403).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N ------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "FocusLoop <focusloop@localhost>")
# The name customers know the organisation by: it signs the emails they get (invitations,
# "we shipped it" messages, privacy links) and names who stores their feedback in the
# public form's consent. Set it with DEFAULT_FROM_EMAIL's display name.
ORGANISATION_NAME = env_str("ORGANISATION_NAME", "FocusLoop")
# Public address of the site (e.g. https://feedback.example.com) for links that leave it:
# invitation emails, QR codes, embed snippets, alert emails. Empty: the address of the
# request where there is one, else http://127.0.0.1:8000.
SITE_URL = env_str("SITE_URL", "")

# --- Security --------------------------------------------------------------------------
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and images from this site only, no
# inline scripts or styles, no plugins, no framing; the survey embed route allows framing
# by SURVEY_EMBED_ORIGINS (every site by default, the point of an embed).
SURVEY_EMBED_ORIGINS = env_list("SURVEY_EMBED_ORIGINS", ["*"])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SILENCED_SYSTEM_CHECKS = []

# --- REST API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "api.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
        "api.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Per API key (or signed-in person) and per anonymous client IP, counted in the
    # default cache (Redis in production). A key's default is high enough for ingest at
    # full speed and stops only a runaway client.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env_str("API_RATE_PER_KEY", "60000/min"),
        "api_user": env_str("API_RATE_PER_USER", "600/min"),
        "api_anon": env_str("API_RATE_PER_ANON_IP", "120/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FocusLoop API",
    "DESCRIPTION": (
        "Read and write customer feedback. Authenticate with an API key: "
        "`Authorization: Bearer <key>` (or `Token <key>`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every POST documents the Idempotency-Key header; every operation its error shape.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_platform_headers",
    ],
    # Several models have a "status"; each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "FeedbackStatusEnum": "feedback.models.Feedback.Status",
        "FocusGroupStatusEnum": "feedback.models.FocusGroup.Status",
        "ReviewImportStatusEnum": "feedback.models.ReviewImport.Status",
        "CustomerKindEnum": "feedback.models.Customer.Kind",
        "AlertKindEnum": "insights.models.Alert.Kind",
        "AlertStatusEnum": "insights.models.Alert.Status",
        "FeedbackThemeSourceEnum": "insights.models.FeedbackTheme.Source",
        # Kept as it was named before feedback themes added a second "source" choice set.
        "SourceEnum": "customization.models.CustomerPreference.Source",
    },
}

# --- FocusLoop -------------------------------------------------------------------------
FEEDBACK_TEXT_MAX_LENGTH = env_int("FEEDBACK_TEXT_MAX_LENGTH", 5000)
# Each web process remembers API keys it has seen for this long (0: look up every request);
# a revoked key stops working everywhere within this time.
API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 10)
# Public form: at most this many submissions per client IP and minute (accounts.rate_limits,
# counted in the cache: local memory in embedded mode, which runs one web process; Redis in
# production). When the cache is unreachable the form stays open rather than refusing
# customers.
FEEDBACK_FORM_RATE = env_str("FEEDBACK_FORM_RATE", "10/m")
# Behind a reverse proxy, the header that carries the client address (e.g. HTTP_X_REAL_IP).
RATELIMIT_IP_META_KEY = env_str("RATELIMIT_IP_META_KEY")
# Rows a worker analyses per claimed batch.
ANALYSIS_BATCH_SIZE = env_int("ANALYSIS_BATCH_SIZE", 500)
# At most one analysis trigger per web process in this many seconds (trailing edge).
ANALYSIS_TRIGGER_DEBOUNCE_SECONDS = env_float("ANALYSIS_TRIGGER_DEBOUNCE_SECONDS", 0.5)
# Sentiment learning: labelled rows needed before a model is trained; where a 5-point
# rating (normalised to 0..1) turns negative or positive (NPS 0-10 and 1-7 scales follow
# their own conventions, see insights/analysis/rating_labels.py); where models are stored.
SENTIMENT_MIN_TRAINING_ROWS = env_int("SENTIMENT_MIN_TRAINING_ROWS", 200)
SENTIMENT_RATING_NEGATIVE_BELOW = env_float("SENTIMENT_RATING_NEGATIVE_BELOW", 0.4)
SENTIMENT_RATING_POSITIVE_FROM = env_float("SENTIMENT_RATING_POSITIVE_FROM", 0.7)
SENTIMENT_MODEL_DIR = Path(env_str("SENTIMENT_MODEL_DIR", str(VAR_DIR / "models")))
# Review imports: the largest file accepted, where uploads are kept (web and workers must
# share it), and how long one import task runs before it queues its own continuation.
REVIEW_IMPORT_MAX_BYTES = env_int("REVIEW_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
REVIEW_IMPORT_DIR = Path(env_str("REVIEW_IMPORT_DIR", str(VAR_DIR / "imports")))
REVIEW_IMPORT_TASK_SECONDS = env_int("REVIEW_IMPORT_TASK_SECONDS", 180)
# Survey invitations: days a link works after its latest email; reminders at most, and
# the least days between two emails to the same customer.
SURVEY_INVITATION_TOKEN_DAYS = env_int("SURVEY_INVITATION_TOKEN_DAYS", 60)
SURVEY_REMINDER_MAX = env_int("SURVEY_REMINDER_MAX", 2)
SURVEY_REMINDER_MIN_DAYS = env_float("SURVEY_REMINDER_MIN_DAYS", 3)
# Interviews: largest transcript upload; staff notes on feedback: longest note.
INTERVIEW_TRANSCRIPT_MAX_BYTES = env_int("INTERVIEW_TRANSCRIPT_MAX_BYTES", 1024 * 1024)
FEEDBACK_NOTE_MAX_LENGTH = env_int("FEEDBACK_NOTE_MAX_LENGTH", 5000)
# Respondents' rights: hours a data export/erasure link works; requests per IP.
PRIVACY_LINK_HOURS = env_int("PRIVACY_LINK_HOURS", 24)
PRIVACY_REQUEST_RATE = env_str("PRIVACY_REQUEST_RATE", "5/h")
# Personal data typed in feedback text (emails, phone numbers, card numbers, IBANs):
# "analysis" masks it for analysis, exports and webhooks and keeps the original for staff;
# "store" masks it before the row is saved (the original is never kept); "off" masks nothing.
PII_MASKING = env_str("PII_MASKING", "analysis")
if PII_MASKING not in {"analysis", "store", "off"}:
    raise ImproperlyConfigured(f"PII_MASKING must be analysis, store or off, got {PII_MASKING!r}")
# Days after which feedback text is anonymised (PII masked, submitter removed); 0 keeps it.
FEEDBACK_RETENTION_DAYS = env_int("FEEDBACK_RETENTION_DAYS", 0)

# --- Audit trail (django-auditlog; see accounts/audit.py) -----------------------------------
INSTALLED_APPS.append("auditlog")
# After authentication, so the actor is known.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "accounts.audit.AuditMiddleware",
)
AUDITLOG_STORE_JSON_CHANGES = True
# What is tracked, and which fields: statuses, owners, roles, keys, segments, backlog items,
# erasures, internal notes. Secrets (key digests, webhook secrets) and bulky fields are left out.
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "auth.user", "exclude_fields": ["password", "last_login"], "m2m_fields": {"groups"}},
    {"model": "auth.group", "m2m_fields": {"permissions"}},
    {"model": "accounts.apikey", "exclude_fields": ["digest", "last_used_at"]},
    {"model": "feedback.product"},
    {"model": "feedback.erasurerecord"},
    # Notes are edited and deleted by their author or an admin: the trail keeps the text.
    {"model": "feedback.feedbacknote", "include_fields": ["text"]},
    {
        "model": "feedback.reviewsource",
        "include_fields": [
            "name",
            "kind",
            "url",
            "product",
            "field_mapping",
            "interval_minutes",
            "active",
        ],
    },
    {"model": "surveys.survey"},
    {"model": "insights.theme", "exclude_fields": ["centroid", "quotes", "updated_at"]},
    {"model": "insights.alertrule"},
    {"model": "insights.sentimentmodel", "include_fields": ["is_active"]},
    {
        "model": "customization.segment",
        "exclude_fields": ["member_count", "membership_refreshed_at", "updated_at"],
    },
    {
        "model": "customization.customizationrequest",
        "exclude_fields": ["value_at_stake", "updated_at"],
    },
    {
        "model": "innovation.idea",
        "include_fields": [
            "title",
            "status",
            "owner",
            "product",
            "theme",
            "impact",
            "confidence",
            "effort",
            "value",
            "lane",
            "public",
            "merged_into",
            "impact_result",
        ],
    },
    {"model": "innovation.segmentweight"},
    {"model": "innovation.ideasuggestion", "include_fields": ["status"]},
)
# Review feeds: fetch timeout and size cap, longest back-off after failures, and whether a
# feed may live on a private or loopback address (off: a feed URL cannot reach inside).
REVIEW_SOURCE_TIMEOUT_SECONDS = env_float("REVIEW_SOURCE_TIMEOUT_SECONDS", 15)
REVIEW_SOURCE_MAX_BYTES = env_int("REVIEW_SOURCE_MAX_BYTES", 5 * 1024 * 1024)
REVIEW_SOURCE_MAX_BACKOFF_MINUTES = env_int("REVIEW_SOURCE_MAX_BACKOFF_MINUTES", 24 * 60)
REVIEW_SOURCE_ALLOW_PRIVATE_HOSTS = env_bool("REVIEW_SOURCE_ALLOW_PRIVATE_HOSTS", False)

# Fail services loudly in tests instead of skipping (set by CI).
FOCUSLOOP_REQUIRE_SERVICES = env_bool("FOCUSLOOP_REQUIRE_SERVICES", False)

# --- Insights monitoring: statistics, alerts, forecasts, beat -----------------------------
# A change between two periods is called significant when its two-sided p-value is below this.
INSIGHTS_SIGNIFICANCE_ALPHA = env_float("INSIGHTS_SIGNIFICANCE_ALPHA", 0.05)
# Emerging themes: family-wise false-alarm rate over all themes tested in one evaluation.
INSIGHTS_EMERGING_ALPHA = env_float("INSIGHTS_EMERGING_ALPHA", 0.01)
# Who is emailed about built-in alerts (sentiment drop, emerging theme, detractor comment).
INSIGHTS_ALERT_EMAILS = env_list("INSIGHTS_ALERT_EMAILS", [])
# Forecasts: weeks ahead, and weeks of history read (two years lets the yearly season in).
INSIGHTS_FORECAST_HORIZON = env_int("INSIGHTS_FORECAST_HORIZON", 8)
if not 4 <= INSIGHTS_FORECAST_HORIZON <= 12:
    raise ImproperlyConfigured(
        f"INSIGHTS_FORECAST_HORIZON must be 4 to 12 weeks, got {INSIGHTS_FORECAST_HORIZON}"
    )
INSIGHTS_FORECAST_HISTORY_WEEKS = env_int("INSIGHTS_FORECAST_HISTORY_WEEKS", 104)
# Dashboard: breakdowns with fewer respondents than this are hidden (no one singled out).
INSIGHTS_MIN_GROUP_SIZE = env_int("INSIGHTS_MIN_GROUP_SIZE", 5)
# Who receives the weekly digest besides every active manager (comma-separated).
INSIGHTS_DIGEST_EMAILS = env_list("INSIGHTS_DIGEST_EMAILS", [])
# Seconds a computed dashboard block is reused while the rollups are unchanged (0: off).
INSIGHTS_DASHBOARD_CACHE_SECONDS = env_int("INSIGHTS_DASHBOARD_CACHE_SECONDS", 60)

# --- Customization and innovation backlogs ------------------------------------------------
# Suggested segments: clustering seed (same data + seed = same suggestions) and most clusters.
SEGMENT_SUGGESTION_SEED = env_int("SEGMENT_SUGGESTION_SEED", 42)
SEGMENT_SUGGESTION_MAX_CLUSTERS = env_int("SEGMENT_SUGGESTION_MAX_CLUSTERS", 8)
# Similar customization requests from this many customers/segments are proposed as one idea.
CUSTOMIZATION_PROMOTION_THRESHOLD = env_int("CUSTOMIZATION_PROMOTION_THRESHOLD", 3)
# Weekly idea suggestions: a theme needs this much feedback in the window to count as a pain
# point; a dismissed one comes back only when its volume grows by this factor (and significantly).
IDEA_SUGGESTION_MIN_VOLUME = env_int("IDEA_SUGGESTION_MIN_VOLUME", 20)
IDEA_SUGGESTION_REGROWTH = env_float("IDEA_SUGGESTION_REGROWTH", 1.5)
# Weeks after shipping before the impact check compares before and after.
IDEA_IMPACT_CHECK_WEEKS = env_int("IDEA_IMPACT_CHECK_WEEKS", 6)
# The read-only public roadmap at /roadmap/public/ (ideas marked public only).
PUBLIC_ROADMAP_ENABLED = env_bool("PUBLIC_ROADMAP_ENABLED", False)

# The beat schedule lives in the database (editable in the admin); config/celery.py holds
# the defaults; insights/beat.py seeds missing entries at beat start, never overwriting edits.
CELERY_BEAT_SCHEDULER = "insights.beat:DefaultsKeepingScheduler"

LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")


def _forbidden_without_traceback(record) -> bool:
    """A 403 is an answer, not a fault: Django logs it with the PermissionDenied traceback,
    which says nothing the one line does not. Keep the line, drop the traceback."""
    if getattr(record, "status_code", None) == 403:
        record.exc_info = None
        record.exc_text = None
    return True


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "filters": {"forbidden_one_line": {"()": lambda: _forbidden_without_traceback}},
    # LOG_FORMAT=json: one JSON object per line (time, level, logger, message, extras).
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}

# --- API platform ------------------------------------------------------------------------
INSTALLED_APPS = [*INSTALLED_APPS, "api"]
# Idempotency-Key on every POST under /api/v1/, and the one JSON error shape for answers
# Django gives outside DRF there (unknown address, server error). After authentication.
MIDDLEWARE = [*MIDDLEWARE, "api.middleware.ApiPlatformMiddleware"]
# Webhook deliveries: seconds before a receiver times out, tries before a delivery is
# given up, failed deliveries in a row before an endpoint is switched off.
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 6)
# Wait before the second try; doubled after each failed try (at most six hours).
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
# Seconds each process remembers whether an event has subscribers (0: ask every time).
WEBHOOK_SUBSCRIBERS_CACHE_SECONDS = env_int("WEBHOOK_SUBSCRIBERS_CACHE_SECONDS", 10)
# Local development only: let webhooks reach loopback and private addresses.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)
