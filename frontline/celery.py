"""Celery application. With CELERY_BROKER_URL unset, tasks run in-process (no server needed)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontline.settings")

app = Celery("frontline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.broker_url = os.environ.get("CELERY_BROKER_URL") or "memory://"
app.autodiscover_tasks()
