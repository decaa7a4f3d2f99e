"""Shared by `frontline worker` and `frontline beat`: hand the command line to Celery."""

from __future__ import annotations

import sys

from django.conf import settings

NO_BROKER = (
    "No CELERY_BROKER_URL is set. Without a broker, `frontline serve` runs the background work "
    "itself (tasks in-process, the periodic schedule in a thread): nothing else to start.\n"
    "For separate worker and beat processes, point them and the web nodes at one broker, e.g. "
    "CELERY_BROKER_URL=redis://127.0.0.1:6379/0."
)


def run_celery(argv: list[str]) -> None:
    """Run `celery <argv>` for the Frontline app; argv[0] is "worker" or "beat"."""
    asks_help = any(a in {"-h", "--help"} for a in argv[1:])
    if not settings.CELERY_BROKER_URL and not asks_help:
        sys.stderr.write(NO_BROKER + "\n")
        sys.exit(2)
    from frontline.celery import app

    app.start(argv)
