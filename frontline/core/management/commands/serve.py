"""`frontline serve`: the web UI and API under gunicorn, with background work in-process when no
broker is configured (tasks run eagerly; no server to install): a beat process beside the
gunicorn master drives the periodic schedule (SLA sweep, mail polling, mail retry sweep), through
the same tasks a worker would run."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn configured from a dict, not from the command line: `sys.argv` here is
    `manage.py serve ...`, which gunicorn's own parser would reject."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIHandler:
        from frontline.wsgi import application

        return application


def _beat_process(app: Any, schedule_filename: str) -> Any:
    """Celery's embedded beat process, which also ends when `frontline serve` is gone however it
    went (killed, crashed): it would otherwise go on sweeping and polling mailboxes beside the
    next server's own beat."""
    import threading
    import time

    from celery.beat import _Process

    class _BeatProcess(_Process):  # type: ignore[misc]
        def run(self) -> None:
            server = os.getppid()

            def watch() -> None:
                while os.getppid() == server:
                    time.sleep(1)
                os._exit(0)  # the server is gone: so is its scheduler

            threading.Thread(target=watch, name="beat-watchdog", daemon=True).start()
            super().run()

    return _BeatProcess(app, schedule_filename=schedule_filename)


class Command(BaseCommand):
    help = (
        "Serve Frontline (UI + API) with gunicorn. Defaults come from PORT, WEB_WORKERS and "
        "WEB_THREADS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # String defaults go through `type` too, so a bad environment value is an argument error.
        parser.add_argument("--host", default="127.0.0.1", help="Address to bind (127.0.0.1).")
        parser.add_argument("--port", type=int, default=os.environ.get("PORT", "8000"))
        parser.add_argument("--workers", type=int, default=os.environ.get("WEB_WORKERS", "2"))
        parser.add_argument("--threads", type=int, default=os.environ.get("WEB_THREADS", "4"))

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["port"] < 65536:
            raise CommandError(f"Port {options['port']} is not between 1 and 65535.", returncode=2)
        for name in ("workers", "threads"):
            if not 1 <= options[name] <= 64:
                raise CommandError(
                    f"--{name} must be between 1 and 64, not {options[name]}.", returncode=2
                )
        self.check_migrations()
        bind = f"{options['host']}:{options['port']}"
        mode = "Celery broker" if settings.CELERY_BROKER_URL else "in-process background work"
        if not settings.CELERY_BROKER_URL:
            # A process, not a thread: gunicorn forks its workers from this process, and a fork
            # while a beat thread is half-way through an import (or holds any lock) leaves the
            # worker with a half-initialised module or a lock nobody will release.
            connections.close_all()
            beat = self._start_beat(thread=False)
            on_exit = {"on_exit": lambda arbiter: beat.stop()}
        else:
            on_exit = {}
        self.stdout.write(
            f"Serving on http://{bind}/ ({options['workers']} workers x {options['threads']} "
            f"threads, {mode}). Ctrl-C stops."
        )
        _Gunicorn(
            {
                "bind": bind,
                "workers": options["workers"],
                "threads": options["threads"],
                "worker_class": "gthread",
                "proc_name": "frontline",
                "accesslog": "-",
                "errorlog": "-",
                "graceful_timeout": 10,
                # No runtime control socket: its default path (~/.gunicorn/) would be shared by
                # every instance on the machine, e.g. a test server next to `make run`.
                "control_socket_disable": True,
                **on_exit,  # stop the beat process with the server
            }
        ).run()

    def _start_beat(self, *, thread: bool = True) -> Any:
        """Celery beat beside the gunicorn master: one scheduler however many gunicorn workers
        there are. With no broker, tasks are eager, so each scheduled task runs right in the
        beat thread or process. `serve` starts it as a daemon process (forked before gunicorn
        starts, so no worker is ever forked from a process with a beat thread in it); tests
        use the thread. Returns the thread or process (both have a stop())."""
        from celery.beat import EmbeddedService

        from frontline.celery import app

        # Register the tasks (autodiscovery is lazy): beat runs a registered task through
        # apply_async, which is eager here; an unregistered one it would only send_task to the
        # in-memory broker, where no worker listens.
        app.loader.import_default_modules()
        schedule = settings.CELERY_BEAT_SCHEDULE_FILENAME
        if thread:
            beat = EmbeddedService(app, thread=True, schedule_filename=schedule)
        else:
            beat = _beat_process(app, schedule)
            beat.daemon = True  # ends with `frontline serve`
        beat.start()
        self.stdout.write(
            f"Periodic jobs (SLA sweep every {settings.FRONTLINE_SLA_SWEEP_SECONDS:g} s) run "
            "beside the server (no broker needed)."
        )
        return beat
