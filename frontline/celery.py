"""Celery application. With CELERY_BROKER_URL unset, tasks run in-process (no server needed):
`frontline serve` then drives the periodic schedule below from a beat thread."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontline.settings")

app = Celery("frontline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.broker_url = os.environ.get("CELERY_BROKER_URL") or "memory://"
app.autodiscover_tasks()


def beat_schedule(sweep_seconds: float) -> dict[str, dict[str, object]]:
    """The periodic jobs. A sweep still queued when the next one is due is dropped (expires):
    after an outage the worker runs one sweep, not a backlog of them."""
    return {
        "sla-sweep": {
            "task": "frontline.sla.tasks.sla_sweep",
            "schedule": sweep_seconds,
            "options": {"expires": sweep_seconds},
        },
    }


app.conf.beat_schedule = beat_schedule(
    float(os.environ.get("FRONTLINE_SLA_SWEEP_SECONDS", "60"))  # as settings.py reads it
)
