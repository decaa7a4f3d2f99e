"""`frontline worker`: a Celery worker for Frontline's background work (needs a broker).

Every option is Celery's (`frontline worker --help`), e.g. `frontline worker -l INFO -c 4`;
`-B` also runs the periodic scheduler in this process (run it in one worker only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from frontline.core.management.commands._celery import run_celery


class Command(BaseCommand):
    help = "Run a Celery worker (options are Celery's; needs CELERY_BROKER_URL)."

    def run_from_argv(self, argv: list[str]) -> None:
        # Celery parses its own options; Django's parser would refuse them.
        run_celery(["worker", *argv[2:]])

    def handle(self, *args: Any, **options: Any) -> None:
        run_celery(["worker", *args])
