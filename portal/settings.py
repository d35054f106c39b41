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
    "cases.apps.CasebookAdminConfig",
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
    # Django's, taking the user read with the session (accounts.sessions).
    "accounts.middleware.AuthenticationMiddleware",
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


PREPARED_STATEMENTS = os.environ.get("CASEBOOK_PREPARED_STATEMENTS", "on") != "off"


def _postgres_planner(database: Any) -> None:
    """
    Let PostgreSQL take a query's joins in the order Django writes them.

    Django writes a query's joins from its model outwards, along the foreign
    keys of ``select_related``: the order a list of cases wants. Searching for
    a better order among six tables (a case, its organization, reporter,
    assignee, release and article) took PostgreSQL 2 to 10 ms of planning per
    request, for a query that runs in 0.3 ms; with the written order it plans
    in 0.3 ms. Each join still chooses its method and which side leads.

    Planning even that much was half the time of the list's query, on every
    request. With parameters bound on the server, psycopg prepares a statement
    once its connection has run it twice, and PostgreSQL then reuses the plan
    (or plans again for a value that needs it: ``plan_cache_mode`` is left at
    ``auto``). ``CASEBOOK_PREPARED_STATEMENTS=off`` turns this off for a
    connection pooler that cannot keep prepared statements.
    """
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c join_collapse_limit=1".strip()
        if PREPARED_STATEMENTS:
            options.setdefault("server_side_binding", True)
            options.setdefault("prepare_threshold", 2)


_postgres_planner(DATABASES["default"])

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
    "db": {"BACKEND": "notifications.backends.DatabaseBackend"},
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

# Production readiness ------------------------------------------------------
# Security headers, sign-in protection, uploads, health and scaling out. Each
# setting below reads the environment; docs/deploy.md explains them.


import datetime  # noqa: E402
import json  # noqa: E402
from typing import Any  # noqa: E402

from django.utils.csp import CSP  # noqa: E402


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


INSTALLED_APPS += [
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]


def _after(anchor: str, *names: str) -> None:
    """Insert `names` into MIDDLEWARE right after `anchor`."""
    index = MIDDLEWARE.index(anchor) + 1
    MIDDLEWARE[index:index] = list(names)


_after(
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "portal.middleware.PermissionsPolicyMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
)
_after(
    "accounts.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.otp.StaffTwoFactorMiddleware",
    "portal.routers.ReplicaReadsMiddleware",
)
# Axes turns a locked-out sign-in into its lockout answer; its docs want it last.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

# Content Security Policy (Django's own), in every mode so that tests and
# development see what production enforces: no inline script, no framing.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CASEBOOK_PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)
SESSION_COOKIE_HTTPONLY = True
# Pages send the CSRF token from the template (form field or hx-headers), never
# by reading the cookie from JavaScript.
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

if PRODUCTION:
    # Behind a TLS-terminating proxy or load balancer, trust its
    # X-Forwarded-Proto header (only when it always sets it).
    if _env_flag("DJANGO_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
        USE_X_FORWARDED_HOST = _env_flag("DJANGO_USE_X_FORWARDED_HOST", False)
    SECURE_SSL_REDIRECT = _env_flag("DJANGO_SECURE_SSL_REDIRECT", True)
    # The load balancer asks for /healthz over plain HTTP on the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_flag("DJANGO_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
    if not os.environ.get("EMAIL_BACKEND"):
        # Production sends real mail: SMTP, configured by EMAIL_HOST and friends.
        MAILERS["default"] = {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {  # type: ignore[dict-item]
                key: value
                for key, value in {
                    "host": os.environ.get("EMAIL_HOST"),
                    "port": int(os.environ["EMAIL_PORT"]) if os.environ.get("EMAIL_PORT") else None,
                    "username": os.environ.get("EMAIL_HOST_USER"),
                    "password": os.environ.get("EMAIL_HOST_PASSWORD"),
                    "use_tls": _env_flag("EMAIL_USE_TLS", True),
                }.items()
                if value is not None
            },
        }

# Static files: WhiteNoise serves them from gunicorn, compressed and with
# content-hashed names in production (run `collectstatic` when deploying).
# Attachments go through Django's storage API, so another backend (for example
# django-storages' S3 storage) is a setting away.
STORAGES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": os.environ.get(
            "CASEBOOK_FILE_STORAGE", "django.core.files.storage.FileSystemStorage"
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}
if os.environ.get("CASEBOOK_FILE_STORAGE_OPTIONS"):
    STORAGES["default"]["OPTIONS"] = json.loads(os.environ["CASEBOOK_FILE_STORAGE_OPTIONS"])
if PRODUCTION:
    # In development, runserver serves static files itself.
    _after(
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# Sessions live in the database (default) or in the cache ("cache",
# "cached_db"), never on one app server's disk or memory. In the database,
# accounts.sessions reads a session's user in the query that reads the session.
SESSION_ENGINE = {
    "db": "accounts.sessions",
    "cache": "django.contrib.sessions.backends.cache",
    "cached_db": "django.contrib.sessions.backends.cached_db",
}[os.environ.get("CASEBOOK_SESSIONS", "db")]
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }

# A read replica for list and search pages, only when one is configured.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    _postgres_planner(DATABASES["replica"])
DATABASE_ROUTERS = ["portal.routers.ReplicaRouter"]
# URL names (namespace:name) whose GET requests read cases from the replica.
CASEBOOK_REPLICA_VIEWS = _env_list("CASEBOOK_REPLICA_VIEWS") or [
    "cases:list",
    "cases:search",
    "kb:list",
    "api:case-list",
]

# Sign-in protection: django-axes counts failed sign-ins per account and per
# address, each with its own limit, and locks for a cool-off time.
AUTHENTICATION_BACKENDS = [
    "portal.signin.SignInLimitBackend",
    # ModelBackend, with a user's permissions read in one query instead of two.
    "accounts.backends.PermissionBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
CASEBOOK_SIGNIN_LIMIT_PER_ACCOUNT = int(os.environ.get("AXES_FAILURE_LIMIT", "30"))
CASEBOOK_SIGNIN_LIMIT_PER_ADDRESS = int(os.environ.get("AXES_ADDRESS_FAILURE_LIMIT", "100"))
AXES_FAILURE_LIMIT = "portal.signin.failure_limit"
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", "15")))
AXES_USERNAME_CALLABLE = "portal.signin.username_of"
AXES_LOCKOUT_CALLABLE = "portal.signin.lockout_response"
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
if os.environ.get("AXES_PROXY_COUNT"):
    AXES_IPWARE_PROXY_COUNT = int(os.environ["AXES_PROXY_COUNT"])
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},  # type: ignore[dict-item]
    }
    if validator["NAME"].endswith(".MinimumLengthValidator")
    else validator
    for validator in AUTH_PASSWORD_VALIDATORS
]

# Two-factor sign-in for staff (TOTP). Staff who enrolled a device must confirm a
# code before the admin lets them in; superusers must enrol in production.
OTP_TOTP_ISSUER = os.environ.get("CASEBOOK_OTP_ISSUER", "Casebook")
CASEBOOK_OTP_REQUIRED_FOR_SUPERUSERS = _env_flag("CASEBOOK_OTP_REQUIRED_FOR_SUPERUSERS", PRODUCTION)

# Uploads: a request larger than this is refused before its body is read; each
# file is cut off as soon as it passes CASEBOOK_MAX_ATTACHMENT_BYTES.
CASEBOOK_MAX_UPLOAD_REQUEST_BYTES = int(
    os.environ.get("CASEBOOK_MAX_UPLOAD_REQUEST_BYTES", str(4 * CASEBOOK_MAX_ATTACHMENT_BYTES))
)
FILE_UPLOAD_HANDLERS = [
    "cases.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Dotted path of a callable(file) -> str | None that returns why a file is
# refused (for example a ClamAV client); none by default.
CASEBOOK_ATTACHMENT_SCANNER = os.environ.get("CASEBOOK_ATTACHMENT_SCANNER") or None
