"""Frontline settings, read from environment variables (see README: Configuration)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FRONTLINE_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("FRONTLINE_DEBUG", False)
SECRET_KEY = os.environ.get(
    "FRONTLINE_SECRET_KEY", "dev-insecure-frontline-key-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("FRONTLINE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
if os.environ.get("FRONTLINE_CSRF_TRUSTED_ORIGINS"):
    CSRF_TRUSTED_ORIGINS = os.environ["FRONTLINE_CSRF_TRUSTED_ORIGINS"].split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "frontline.core",
    "frontline.tenants",
    "frontline.accounts",
    "frontline.tickets",
    "frontline.sla",
    "frontline.mail",
    "frontline.portal",
    "frontline.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "frontline.core.middleware.ConfigCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "frontline.accounts.middleware.ActorMiddleware",
    "frontline.core.middleware.SecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "frontline.urls"
WSGI_APPLICATION = "frontline.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontline.core.context_processors.frontline",
            ],
        },
    }
]

# --- Database: SQLite (WAL) by default, PostgreSQL through DATABASE_URL -------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "staticfiles").mkdir(exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'frontline.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("FRONTLINE_TEST_SQLITE", "")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Join tables in the order the ORM writes them (the ticket first, then what it points to;
    # each join may still swap its two sides). A queue or ticket page joins ~12 tables through
    # select_related, and PostgreSQL's search over join orders cost 15-80 ms of planning per
    # query for 1-3 ms of execution (bench/RESULTS.md). FRONTLINE_PG_OPTIONS replaces it.
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = " ".join(
        filter(
            None,
            [
                os.environ.get("FRONTLINE_PG_OPTIONS", "-c join_collapse_limit=1"),
                _pg_options.get("options", ""),
            ],
        )
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth --------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("FRONTLINE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "frontline.accounts.views.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False

SESSION_COOKIE_AGE = int(os.environ.get("FRONTLINE_SESSION_IDLE_SECONDS", str(8 * 3600)))
# The age above is an idle timeout, kept by frontline.core.sessions without writing the session
# on every request (it refreshes the expiry at most about once a minute per session).
SESSION_ENGINE = "frontline.core.sessions"
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _env_bool("FRONTLINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- i18n / time -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("FRONTLINE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and files --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "frontline" / "static"]
MEDIA_ROOT = Path(os.environ.get("FRONTLINE_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = None  # files are never served from a public URL; see tickets.views.attachment_download
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
FRONTLINE_MAX_ATTACHMENT_BYTES = int(
    os.environ.get("FRONTLINE_MAX_ATTACHMENT_BYTES", str(10 * 1024 * 1024))
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FRONTLINE_REOPEN_WINDOW_DAYS = int(os.environ.get("FRONTLINE_REOPEN_WINDOW_DAYS", "7"))
FRONTLINE_STATUS_LINK_DAYS = int(os.environ.get("FRONTLINE_STATUS_LINK_DAYS", "30"))
FRONTLINE_BASE_URL = os.environ.get("FRONTLINE_BASE_URL", "http://127.0.0.1:8000")

# --- Cache (rate limits) -----------------------------------------------------------------------
if os.environ.get("FRONTLINE_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["FRONTLINE_CACHE_URL"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Sessions read from the cache (core/sessions.py): only with a cache all processes share.
FRONTLINE_SESSION_CACHE = _env_bool(
    "FRONTLINE_SESSION_CACHE", bool(os.environ.get("FRONTLINE_CACHE_URL"))
)

# --- Mail --------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "FRONTLINE_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("FRONTLINE_FROM_EMAIL", "helpdesk@frontline.local")
EMAIL_HOST = os.environ.get("FRONTLINE_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("FRONTLINE_SMTP_PORT", "25"))
# Right-hand side of outbound Message-IDs; empty: the domain of DEFAULT_FROM_EMAIL.
FRONTLINE_MAIL_DOMAIN = os.environ.get("FRONTLINE_MAIL_DOMAIN", "")
# At most this many automatic mails (notifications, bounces) per recipient address in 24 hours.
FRONTLINE_MAIL_DAILY_CAP = int(os.environ.get("FRONTLINE_MAIL_DAILY_CAP", "40"))

# --- Celery: Redis in production; with no broker, tasks run in-process ------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL_EFFECTIVE = CELERY_BROKER_URL or "memory://"
# One queue name per installation, so several installations (or test runs) can share a Redis.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("FRONTLINE_CELERY_QUEUE", "frontline")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often the SLA sweep runs (warnings, breaches, escalations); see frontline/celery.py.
FRONTLINE_SLA_SWEEP_SECONDS = float(os.environ.get("FRONTLINE_SLA_SWEEP_SECONDS", "60"))
# How often IMAP mailboxes are polled (frontline.mail.tasks.mail_fetch); see frontline/celery.py.
FRONTLINE_MAIL_FETCH_SECONDS = float(os.environ.get("FRONTLINE_MAIL_FETCH_SECONDS", "60"))
# Fernet key for stored IMAP passwords; empty: derived from SECRET_KEY (mail/credentials.py).
FRONTLINE_MAIL_KEY = os.environ.get("FRONTLINE_MAIL_KEY", "")

# --- Logging: never log secrets or tokens ------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FRONTLINE_LOG_LEVEL", "WARNING")},
    "loggers": {"axes": {"level": "WARNING"}},
}

FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "frontline.core.uploads.CappedTemporaryFileUploadHandler",
]
