"""`frontline beat`: Celery's periodic scheduler (the SLA sweep every minute). Run exactly one.

Every option is Celery's (`frontline beat --help`); the schedule state is kept in
`$FRONTLINE_VAR_DIR/celerybeat-schedule` unless `-s` says otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from frontline.core.management.commands._celery import run_celery


class Command(BaseCommand):
    help = "Run Celery beat, the periodic scheduler (options are Celery's; needs a broker)."

    def run_from_argv(self, argv: list[str]) -> None:
        run_celery(["beat", *argv[2:]])

    def handle(self, *args: Any, **options: Any) -> None:
        run_celery(["beat", *args])
