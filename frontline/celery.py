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


# How often IMAP mailboxes are polled (as settings.py reads FRONTLINE_MAIL_FETCH_SECONDS).
MAIL_FETCH_SECONDS = float(os.environ.get("FRONTLINE_MAIL_FETCH_SECONDS", "60"))


def beat_schedule(
    sweep_seconds: float, *, mail_fetch_seconds: float = MAIL_FETCH_SECONDS
) -> dict[str, dict[str, object]]:
    """The periodic jobs. A sweep still queued when the next one is due is dropped (expires):
    after an outage the worker runs one sweep, not a backlog of them."""
    return {
        "sla-sweep": {
            "task": "frontline.sla.tasks.sla_sweep",
            "schedule": sweep_seconds,
            "options": {"expires": sweep_seconds},
        },
        # IMAP polling; a poll still queued when the next is due is dropped, as above.
        "mail-fetch": {
            "task": "frontline.mail.tasks.mail_fetch",
            "schedule": mail_fetch_seconds,
            "options": {"expires": mail_fetch_seconds},
        },
        # Notifications left queued (broker down when they were enqueued, a worker lost).
        "mail-send-sweep": {
            "task": "frontline.mail.tasks.mail_send_sweep",
            "schedule": 300.0,
            "options": {"expires": 300.0},
        },
    }


app.conf.beat_schedule = beat_schedule(
    float(os.environ.get("FRONTLINE_SLA_SWEEP_SECONDS", "60"))  # as settings.py reads it
)
