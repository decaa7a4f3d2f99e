"""`frontline serve` as `make run` starts it: gunicorn workers plus the no-broker beat, on a
fresh SQLite database, under concurrent requests that each run eager tasks (notifications)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable

SETUP_USER = """
import django; django.setup()
from frontline.accounts.models import User
from frontline.tenants.models import Organization
org = Organization.objects.create(name="Serve Test Ltd", slug="serve-test")
User.objects.create_user(email="serve.user@example.com", password="x-serve-pass-1",
                         full_name="Serve User", organization=org, role="end_user")
from frontline.mail.models import Mailbox
Mailbox.objects.create(name="Closed port", address="help@serve-test.example", organization=org,
                       source="imap", imap_host="127.0.0.1", imap_port=9, imap_security="none",
                       imap_username="help", imap_password_env="SERVE_TEST_NO_SUCH_VAR")
"""

LAST_FETCH = """
import django; django.setup()
from frontline.mail.models import Mailbox
print(Mailbox.objects.get().last_fetch_at is not None)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="frontline.settings",
        FRONTLINE_VAR_DIR=str(tmp_path),
        FRONTLINE_CACHE_URL="",
        # Beat busy while gunicorn forks its workers: the race this test is about.
        FRONTLINE_SLA_SWEEP_SECONDS="1",
        FRONTLINE_MAIL_FETCH_SECONDS="1",
        FRONTLINE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        FRONTLINE_LOG_LEVEL="WARNING",
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_serve_with_in_process_beat_answers_concurrent_creates(tmp_path):
    env = _env(tmp_path)
    _run([PY, "manage.py", "migrate", "--noinput"], env)
    _run([PY, "-c", SETUP_USER], env)
    token = _run(
        [PY, "manage.py", "token", "create", "--email", "serve.user@example.com"], env
    ).strip()
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [PY, "manage.py", "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail((tmp_path / "serve.log").read_text()[-3000:])
                time.sleep(0.3)

        def create(i: int) -> int:
            request = urllib.request.Request(
                f"{base}/api/v1/tickets",
                data=json.dumps({"subject": f"Printer {i} jams", "description": "Tray 2"}).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=20) as r:
                return int(r.status)

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(create, range(32)))
        assert statuses == [201] * 32
        time.sleep(2)  # a few beat ticks (sweeps every second) after the burst
        assert server.poll() is None, "the server died"
        # The beat ran the scheduled jobs (eagerly, in its own process): the IMAP poll tried
        # the mailbox and recorded when.
        assert _run([PY, "-c", LAST_FETCH], env).strip() == "True"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "beside the server" in output
    assert "partially initialized" not in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def _children(pid: int) -> set[int]:
    """Live child processes of `pid` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after its closing bracket.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_the_beat_process_ends_with_the_server(tmp_path, how):
    """Stopped (SIGTERM) or killed (SIGKILL), the server leaves no process behind: an orphaned
    beat would go on sweeping and polling mailboxes beside the next server's own beat."""
    env = _env(tmp_path)
    _run([PY, "manage.py", "migrate", "--noinput"], env)
    port = _free_port()
    server = subprocess.Popen(
        [PY, "manage.py", "serve", "--port", str(port), "--workers", "1", "--threads", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_children(server.pid)) < 2:  # the beat process and a gunicorn worker
            assert server.poll() is None, "the server died"
            assert time.monotonic() < deadline, "no beat and worker processes appeared"
            time.sleep(0.3)
        children = _children(server.pid)
        time.sleep(1.5)  # the beat is ticking (sweeps every second)
        if how == "kill":
            server.kill()
        else:
            server.terminate()
        server.wait(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not [pid for pid in children if _alive(pid)], "processes outlived the server"
    finally:
        if server.poll() is None:
            server.kill()
        for pid in _children(server.pid):
            os.kill(pid, 9)
