"""Settings for django-helpdesk 2.6.1 as the side-by-side peer of the benchmark.

Run only from bench/run.py, with the helpdesk venv's Python (django-helpdesk is installed there
from PyPI at run time; none of its code lives in this repository). Production-like: DEBUG off,
the same PostgreSQL server as Frontline (its own database), served by gunicorn on 127.0.0.1."""

import os

SECRET_KEY = os.environ.get("HD_SECRET_KEY", "bench-only-helpdesk-key-0123456789-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
SITE_ID = 1
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "hd_urls"
WSGI_APPLICATION = "hd_wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("HD_DB_NAME", "helpdesk_bench"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,  # the same as Frontline's PostgreSQL setting
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-gb"
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("HD_STATIC_ROOT", "/tmp/frontline-bench/helpdesk-static")
MEDIA_ROOT = os.environ.get("HD_MEDIA_ROOT", "/tmp/frontline-bench/helpdesk-media")
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # no mail leaves the bench
HELPDESK_TEAMS_MODE_ENABLED = False
HELPDESK_API_ENABLED = True
# API tokens, the equivalent of Frontline's Bearer tokens (Basic auth would hash a password on
# every request); the session for the browser pages.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
