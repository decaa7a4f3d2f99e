"""The SLA sweep through Celery: a ticket set to breach in a few seconds is escalated once by
the periodic task, with its timeline events, and later sweeps do nothing more.

Two settings, one scenario:
* no broker (the default, `make run`): an in-memory broker, Celery's in-process test worker and
  an embedded beat thread; no server to install;
* Redis (CI's PostgreSQL pass sets FRONTLINE_TEST_REDIS_URL): real `frontline worker` and
  `frontline beat` processes against Redis (in-process against Redis when the test database is
  SQLite in memory, which another process cannot open).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.beat import EmbeddedService
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connection
from django.utils import timezone

from frontline.celery import app as frontline_app
from frontline.celery import beat_schedule
from frontline.core.models import AuditEvent
from frontline.sla import clocks
from frontline.sla import services as sla_services
from frontline.sla import tasks as sla_tasks
from frontline.sla.models import TicketSla
from frontline.sla.services import calendar_compiled
from frontline.sla.tests.factories import sla_defaults_ensure
from frontline.tickets import services
from frontline.tickets.models import Escalation, Ticket
from frontline.tickets.tests.helpers import events_of, fresh, open_ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

Kind = AuditEvent.Kind
BREACH_IN = 2  # seconds
SWEEP_EVERY = 0.5  # seconds, in place of a minute
ROOT = Path(__file__).resolve().parents[3]


def ticket_breaching_soon(desk) -> Ticket:
    """A Tier 1 ticket whose resolution target (P3, functional escalation) runs out a few
    seconds from now: real policy and calendar, only the target shortened to seconds."""
    sla_defaults_ensure()
    ticket = open_ticket(desk, impact=1, urgency=1)  # P1: the 24x7 calendar
    services.comment_add(actor=desk.actor(desk.agent1), ticket=fresh(ticket), body="Looking")
    clock = TicketSla.objects.select_related("calendar").get(pk=ticket.pk)
    now = timezone.now().replace(microsecond=0)
    clock.elapsed_seconds = 0
    clock.running_since = now
    clock.resolution_target_seconds = BREACH_IN
    clocks.schedule(clock, calendar_compiled(clock.calendar))
    clock.save()
    assert clock.resolution_due_at == now + timedelta(seconds=BREACH_IN)
    return ticket


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def assert_escalated_once(ticket: Ticket) -> None:
    assert Escalation.objects.filter(ticket=ticket).count() == 1
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.symptoms == "SLA resolution target breached"
    kinds = [e.kind for e in events_of(ticket)]
    assert kinds.count(Kind.SLA_BREACH) == 1
    assert kinds.count(Kind.ESCALATED) == 1
    breach = next(e for e in events_of(ticket) if e.kind == Kind.SLA_BREACH)
    assert breach.field == "resolution" and "breached" in breach.data["reason"]
    assert TicketSla.objects.get(pk=ticket.pk).resolution_state == "breached"
    assert fresh(ticket).escalation_count == 1


# --- in-process worker and beat --------------------------------------------------------------


def _test_app(broker_url: str, queue: str) -> Celery:
    """A Celery app configured like frontline.celery's, on `broker_url`, not eager."""
    test_app = Celery("frontline-sla-test", set_as_current=False)
    test_app.config_from_object("django.conf:settings", namespace="CELERY")
    test_app.conf.update(
        broker_url=broker_url,
        task_always_eager=False,
        task_default_queue=queue,
        beat_schedule=beat_schedule(SWEEP_EVERY),
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=False,
    )
    return test_app


@contextmanager
def in_process_worker_and_beat(broker_url: str, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """Celery's test worker (a real consumer, in a thread) and an embedded beat thread.

    Yields the results of the sweeps the worker ran. The test thread does not touch the
    database while they run (SQLite's in-memory test database is one shared cache)."""
    queue = f"frontline-test-{uuid.uuid4().hex[:8]}"
    test_app = _test_app(broker_url, queue)
    assert sla_tasks.sla_sweep.name in test_app.tasks  # shared tasks bind to every app
    sweeps: list[dict[str, Any]] = []

    def record(sender: Any = None, retval: Any = None, **_: Any) -> None:
        if getattr(sender, "name", "") == "frontline.sla.tasks.sla_sweep":
            sweeps.append(retval if isinstance(retval, dict) else {"error": repr(retval)})

    task_postrun.connect(record, weak=False)
    try:
        with start_worker(test_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            beat = EmbeddedService(
                test_app, thread=True, schedule_filename=str(tmp_path / "beat-schedule")
            )
            beat.start()
            try:
                yield sweeps
            finally:
                beat.stop()
    finally:
        task_postrun.disconnect(record)
        frontline_app.set_current()
        frontline_app.set_default()


def run_scenario_in_process(desk, broker_url: str, tmp_path: Path) -> None:
    ticket = ticket_breaching_soon(desk)
    with in_process_worker_and_beat(broker_url, tmp_path) as sweeps:
        wait_for(
            lambda: sum(s.get("escalations", 0) for s in sweeps) >= 1,
            timeout=BREACH_IN + 20,
            what="the beat-driven sweep to escalate the ticket",
        )
        settled = len(sweeps)
        wait_for(lambda: len(sweeps) >= settled + 2, timeout=10, what="two more sweeps")
    assert not [s for s in sweeps if "error" in s], sweeps
    assert sum(s["escalations"] for s in sweeps) == 1, sweeps
    assert sum(s["breaches"] for s in sweeps) == 1, sweeps
    assert all(s["checked"] == 0 for s in sweeps[settled:]), sweeps
    assert_escalated_once(ticket)
    # And a sweep run by hand afterwards: nothing left to do.
    assert sla_services.sla_sweep().checked == 0
    assert_escalated_once(ticket)


def test_no_broker_the_beat_sweep_escalates_a_breach_once(desk, tmp_path):
    """The default setting: no broker configured, nothing to install or start."""
    run_scenario_in_process(desk, "memory://", tmp_path)


def test_with_no_broker_tasks_run_eagerly_through_the_same_task(desk):
    """What `frontline serve` does with no broker: the scheduled task runs inline."""
    sla_sweep = sla_tasks.sla_sweep
    ticket = ticket_breaching_soon(desk)
    frontline_app.conf.task_always_eager = True
    try:
        time.sleep(BREACH_IN)
        result = sla_sweep.apply_async().get()
        assert result["escalations"] == 1
        assert sla_sweep.apply_async().get()["checked"] == 0
    finally:
        frontline_app.conf.task_always_eager = not settings.CELERY_BROKER_URL
    assert_escalated_once(ticket)


def test_serve_runs_the_beat_schedule_eagerly_in_process(desk, settings, tmp_path):
    """`make run` / `frontline serve` with no broker: its beat thread runs the same sweep task
    (eagerly, in the thread) on the same schedule; nothing else to start."""
    from io import StringIO

    from frontline.core.management.commands.serve import Command

    settings.CELERY_BEAT_SCHEDULE_FILENAME = str(tmp_path / "beat-schedule")
    ticket = ticket_breaching_soon(desk)
    sweeps: list[dict[str, Any]] = []

    def record(sender: Any = None, retval: Any = None, **_: Any) -> None:
        if getattr(sender, "name", "") == sla_tasks.sla_sweep.name:
            sweeps.append(retval if isinstance(retval, dict) else {"error": repr(retval)})

    schedule = frontline_app.conf.beat_schedule
    frontline_app.conf.beat_schedule = beat_schedule(SWEEP_EVERY)
    frontline_app.conf.task_always_eager = True
    task_postrun.connect(record, weak=False)
    beat = Command(stdout=StringIO())._start_beat()
    try:
        wait_for(
            lambda: sum(s.get("escalations", 0) for s in sweeps) >= 1,
            timeout=BREACH_IN + 20,
            what="the serve beat thread to escalate the ticket",
        )
        settled = len(sweeps)
        wait_for(lambda: len(sweeps) >= settled + 2, timeout=10, what="two more sweeps")
    finally:
        beat.stop()
        task_postrun.disconnect(record)
        frontline_app.conf.beat_schedule = schedule
        frontline_app.conf.task_always_eager = not settings.CELERY_BROKER_URL
    assert sum(s["escalations"] for s in sweeps) == 1, sweeps
    assert all(s["checked"] == 0 for s in sweeps[settled:]), sweeps
    assert_escalated_once(ticket)


def test_serve_registers_the_tasks_before_its_beat_starts(tmp_path):
    """In a fresh process nothing has imported the tasks yet (autodiscovery is lazy); beat
    would then only send the sweep to the in-memory broker, where nobody listens."""
    script = (
        "import django; django.setup()\n"
        "from io import StringIO\n"
        "from frontline.celery import app\n"
        "from frontline.core.management.commands.serve import Command\n"
        "before = 'frontline.sla.tasks.sla_sweep' in app.tasks\n"
        "beat = Command(stdout=StringIO())._start_beat()\n"
        "print(before, 'frontline.sla.tasks.sla_sweep' in app.tasks)\n"
        "beat.stop()\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "frontline.settings",
        "CELERY_BROKER_URL": "",
        "FRONTLINE_VAR_DIR": str(tmp_path),
        "FRONTLINE_SLA_SWEEP_SECONDS": "3600",
        "FRONTLINE_LOG_LEVEL": "CRITICAL",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.stdout.split() == ["False", "True"], done.stderr


# --- Redis: real worker and beat processes ---------------------------------------------------


def _redis_url() -> str:
    url = os.environ.get("FRONTLINE_TEST_REDIS_URL", "")
    in_ci = os.environ.get("CI", "").lower() == "true"
    if not url:
        if not in_ci:
            pytest.skip(
                "Celery worker+beat against Redis: set FRONTLINE_TEST_REDIS_URL="
                "redis://127.0.0.1:6379/0 to run it (CI sets it in its PostgreSQL pass)."
            )
        url = "redis://127.0.0.1:6379/0"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        pytest.fail(f"Redis at {url} is not reachable ({exc}); CI needs it for this test.")
    return url


def _database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@contextmanager
def worker_and_beat_processes(redis_url: str, tmp_path: Path) -> Iterator[None]:
    """`frontline worker` and `frontline beat` as separate processes on the test database."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "FRONTLINE_CELERY_QUEUE": f"frontline-test-{uuid.uuid4().hex[:8]}",
        "FRONTLINE_SLA_SWEEP_SECONDS": "1",
        "FRONTLINE_VAR_DIR": str(tmp_path / "var"),
        "FRONTLINE_LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("worker", "beat")}
    node = f"sla-test-{uuid.uuid4().hex[:6]}@%h"
    commands = {
        "worker": [*manage, "worker", "--pool", "solo", "-l", "WARNING", "--without-gossip",
                   "--without-mingle", "--without-heartbeat", "-n", node],
        "beat": [*manage, "beat", "-l", "WARNING", "-s", str(tmp_path / "beat-schedule"),
                 "--max-interval", "1"],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(command, env=env, cwd=ROOT, stdout=logs[name], stderr=logs[name])
        for name, command in commands.items()
    }
    try:
        yield
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs.values():
            log.close()
        import redis

        redis.Redis.from_url(redis_url).delete(env["FRONTLINE_CELERY_QUEUE"])


def test_redis_worker_and_beat_escalate_a_breach_once(desk, tmp_path):
    redis_url = _redis_url()
    if connection.vendor == "sqlite":
        # Another process cannot open SQLite's in-memory test database: same scenario, with
        # the worker and beat in this process, still through Redis.
        run_scenario_in_process(desk, redis_url, tmp_path)
        return
    ticket = ticket_breaching_soon(desk)
    with worker_and_beat_processes(redis_url, tmp_path):
        try:
            wait_for(
                lambda: Escalation.objects.filter(ticket=ticket).exists(),
                timeout=60,
                what="the worker to escalate the ticket (logs in tmp_path)",
            )
            time.sleep(3)  # beat sends a sweep every second: let a few more run
        except BaseException:
            for name in ("worker", "beat"):
                sys.stderr.write(f"--- {name} log ---\n{(tmp_path / f'{name}.log').read_text()}\n")
            raise
    assert_escalated_once(ticket)
    assert sla_services.sla_sweep().checked == 0
    assert_escalated_once(ticket)


def test_worker_and_beat_commands_refuse_to_start_without_a_broker(tmp_path):
    env = {**os.environ, "CELERY_BROKER_URL": "", "FRONTLINE_VAR_DIR": str(tmp_path)}
    for command in ("worker", "beat"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), command],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert "No CELERY_BROKER_URL is set" in done.stderr
        assert "frontline serve" in done.stderr
