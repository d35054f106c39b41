"""
Casebook's settings: one module, driven by the environment.

With no environment at all it runs in development mode on an embedded SQLite
file under ``var/``. ``DJANGO_ENV=production`` switches to production mode,
which refuses to start without ``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS``.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets classes such as ModelAdmin[Case] be subscripted at run time, for typing.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CASEBOOK_VAR_DIR", BASE_DIR / "var"))

ENVIRONMENT = os.environ.get("DJANGO_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


if PRODUCTION:
    missing = [
        name for name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS") if not os.environ.get(name)
    ]
    if missing:
        raise ImproperlyConfigured(
            "Production mode (DJANGO_ENV=production) needs " + " and ".join(missing) + "."
        )
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
    ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS")
    DEBUG = False
else:
    SECRET_KEY = os.environ.get(
        "DJANGO_SECRET_KEY", "development-only-key-never-use-in-production-3c9f1e7a"
    )
    ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "testserver"]
    DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "accounts.apps.AccountsConfig",
    "cases.apps.CasesConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'casebook.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a concurrent writer instead of failing at once, and take the
    # write lock at BEGIN so two writers never deadlock on an upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

MAILERS = {
    "default": {
        "BACKEND": os.environ.get(
            "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
        ),
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@casebook.example.com")

# Largest attachment accepted, in bytes (25 MB by default).
CASEBOOK_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("CASEBOOK_MAX_ATTACHMENT_BYTES", str(25 * 1024 * 1024))
)

# Cases resolved this many days ago are closed by `close_resolved_cases`.
CASEBOOK_AUTO_CLOSE_DAYS = int(os.environ.get("CASEBOOK_AUTO_CLOSE_DAYS", "14"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Notifications, email in and webhooks --------------------------------------
INSTALLED_APPS += ["django_tasks_db", "notifications.apps.NotificationsConfig"]

# Background tasks (django.tasks). `db` keeps the queue in our database, so a
# task enqueued in the transaction of a change exists exactly when the change
# does (worker: `manage.py db_worker`). `rq` is Redis, for workers on many
# machines (worker: `manage.py rqworker default --with-scheduler`). `immediate`
# runs each task in the process, after the commit (tests, debugging).
_TASK_BACKENDS = {
    "db": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend"},
    "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
}
CASEBOOK_TASKS_BACKEND = os.environ.get("CASEBOOK_TASKS_BACKEND", "db")
if CASEBOOK_TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"CASEBOOK_TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}."
    )
TASKS = {"default": _TASK_BACKENDS[CASEBOOK_TASKS_BACKEND]}
RQ_QUEUES = {"default": {"URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}}
if CASEBOOK_TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]

# Where links in emails point, and the domain of their Message-IDs.
CASEBOOK_BASE_URL = os.environ.get("CASEBOOK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
CASEBOOK_EMAIL_DOMAIN = os.environ.get(
    "CASEBOOK_EMAIL_DOMAIN", DEFAULT_FROM_EMAIL.rpartition("@")[2] or "casebook.example.com"
)
# The address customers reply to; its mail is fed to `ingest_email` or the endpoint.
CASEBOOK_REPLY_TO_EMAIL = os.environ.get("CASEBOOK_REPLY_TO_EMAIL", DEFAULT_FROM_EMAIL)
# Shared secret of the email-in endpoint (header X-Casebook-Inbound-Secret);
# empty switches the endpoint off.
CASEBOOK_INBOUND_EMAIL_SECRET = os.environ.get("CASEBOOK_INBOUND_EMAIL_SECRET", "")

# Webhook retries: the n-th retry waits BASE * FACTOR**(n-1) seconds; no retry
# is scheduled past WINDOW seconds after the event, nor after MAX_ATTEMPTS.
CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS = float(
    os.environ.get("CASEBOOK_WEBHOOK_RETRY_BASE_SECONDS", "60")
)
CASEBOOK_WEBHOOK_RETRY_FACTOR = float(os.environ.get("CASEBOOK_WEBHOOK_RETRY_FACTOR", "4"))
CASEBOOK_WEBHOOK_RETRY_WINDOW_SECONDS = int(
    os.environ.get("CASEBOOK_WEBHOOK_RETRY_WINDOW_SECONDS", str(24 * 3600))
)
CASEBOOK_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CASEBOOK_WEBHOOK_MAX_ATTEMPTS", "8"))
CASEBOOK_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("CASEBOOK_WEBHOOK_TIMEOUT_SECONDS", "10"))

# Customer portal: htmx through django-htmx (its script is served from our static files).
INSTALLED_APPS += ["django_htmx"]
MIDDLEWARE += ["django_htmx.middleware.HtmxMiddleware"]

# REST API ------------------------------------------------------------------
INSTALLED_APPS += ["django_filters", "drf_spectacular", "drf_spectacular_sidecar"]

_REST_API: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "portal.api.CasebookAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "portal.throttling.TokenRateThrottle",
        "portal.throttling.AnonymousRateThrottle",
    ],
    # Requests per API token (or signed-in user) and per anonymous address.
    "DEFAULT_THROTTLE_RATES": {
        "token": os.environ.get("CASEBOOK_API_RATE_TOKEN", "600/minute"),
        "anonymous": os.environ.get("CASEBOOK_API_RATE_ANONYMOUS", "60/minute"),
    },
}
REST_FRAMEWORK.update(_REST_API)

SPECTACULAR_SETTINGS = {
    "TITLE": "Casebook API",
    "DESCRIPTION": (
        "File, follow, reclassify and resolve support cases. Authenticate with "
        "`Authorization: Bearer <token>` (`python manage.py create_api_token EMAIL --name NAME`). "
        'Errors are `{"code", "detail"}`, with `errors` per field for 400 and `allowed` '
        "for a refused transition (409)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CaseTypeEnum": "cases.models.CaseType",
        "CaseStatusEnum": "cases.models.Status",
    },
}
