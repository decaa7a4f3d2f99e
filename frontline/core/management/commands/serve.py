"""`frontline serve`: the web UI and API under gunicorn, with background work in-process when no
broker is configured (tasks run eagerly; no server to install)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve Frontline (UI + API) with gunicorn on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["port"] < 65536:
            raise CommandError(f"Port {options['port']} is not between 1 and 65535.")
        from gunicorn.app.wsgiapp import WSGIApplication

        bind = f"{options['host']}:{options['port']}"
        mode = "Celery broker" if settings.CELERY_BROKER_URL else "in-process background work"
        self.stdout.write(f"Serving on http://{bind}/ ({options['workers']} workers, {mode})")
        argv = [
            "gunicorn",
            "frontline.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
        ]
        app = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]")
        import sys

        sys.argv = argv
        app.run()
